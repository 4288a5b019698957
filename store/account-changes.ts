// Admin changes of existing accounts: recorded by the API, applied and notified by their workflow.
// The only owner of `account_changes`.
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';
import { json } from './db';
import type { AccountChangeSet } from './directory';

type Trx = Transaction<Database>;

export interface AccountChangeRow {
  id: string;
  tenantId: string;
  accountId: string;
  requestedBy: string;
  reason: string;
  change: AccountChangeSet;
  state: 'pending' | 'applied' | 'failed' | 'not_started';
  addressesBefore: string[] | null;
}

export async function insertAccountChange(
  trx: Trx,
  c: { id: string; tenantId: string; accountId: string; requestedBy: string; reason: string; change: AccountChangeSet; workflowId: string },
): Promise<void> {
  await trx
    .insertInto('account_changes')
    .values({
      id: c.id,
      tenant_id: c.tenantId,
      account_id: c.accountId,
      requested_by: c.requestedBy,
      reason: c.reason,
      change: json(c.change),
      state: 'pending',
      workflow_id: c.workflowId,
    })
    .execute();
}

const rowOf = (r: {
  id: string;
  tenant_id: string;
  account_id: string;
  requested_by: string;
  reason: string;
  change: unknown;
  state: string;
  addresses_before: unknown;
}): AccountChangeRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  accountId: r.account_id,
  requestedBy: r.requested_by,
  reason: r.reason,
  change: r.change as AccountChangeSet,
  state: r.state as AccountChangeRow['state'],
  addressesBefore: r.addresses_before as string[] | null,
});

export async function getAccountChange(db: Db, id: string): Promise<AccountChangeRow | null> {
  const r = await db.selectFrom('account_changes').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? rowOf(r) : null;
}

/** The change under its row lock, for the transaction that applies it once. */
export async function lockAccountChange(trx: Trx, id: string): Promise<AccountChangeRow | null> {
  const r = await trx.selectFrom('account_changes').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  return r ? rowOf(r) : null;
}

export async function markChangeApplied(trx: Trx, id: string, addressesBefore: string[]): Promise<void> {
  await trx
    .updateTable('account_changes')
    .set({ state: 'applied', applied_at: new Date(), addresses_before: json(addressesBefore) })
    .where('id', '=', id)
    .execute();
}

/** The change ends without taking effect: its account is gone, or its workflow never started. */
export async function markChangeEnded(db: Db | Trx, id: string, state: 'failed' | 'not_started'): Promise<void> {
  await db.updateTable('account_changes').set({ state }).where('id', '=', id).where('state', '=', 'pending').execute();
}

export async function markChangeNotified(db: Db, id: string): Promise<void> {
  await db.updateTable('account_changes').set({ notified_at: new Date() }).where('id', '=', id).where('notified_at', 'is', null).execute();
}
