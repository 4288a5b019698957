// Invitations: onboarding of an account without SSO, one open invitation per account, driven by
// its workflow. The only owner of `invitations`.
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';

type Trx = Transaction<Database>;

export const INVITATION_TERMINAL = ['registered', 'expired', 'failed', 'not_started'] as const;

export interface NewInvitation {
  id: string;
  tenantId: string;
  accountId: string;
  workflowId: string;
  invitedBy: string;
  ttlSeconds: number;
}

/** Records an invitation; null when the account has an open one already (the unique index says so). */
export async function insertInvitation(trx: Trx, i: NewInvitation): Promise<string | null> {
  const row = await trx
    .insertInto('invitations')
    .values({
      id: i.id,
      tenant_id: i.tenantId,
      account_id: i.accountId,
      workflow_id: i.workflowId,
      state: 'issuing',
      invited_by: i.invitedBy,
      ttl_seconds: i.ttlSeconds,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'account_id']).where('ended_at', 'is', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The account's open invitation, if any. */
export function openInvitationOf(db: Db, tenantId: string, accountId: string) {
  return db
    .selectFrom('invitations')
    .select(['id', 'state'])
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
}

export function getInvitation(db: Db, id: string) {
  return db.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirst();
}
export type InvitationRow = NonNullable<Awaited<ReturnType<typeof getInvitation>>>;

/** Moves an invitation to a state (terminal ones end it); returns the row, or null if unknown. */
export function moveInvitation(trx: Trx, m: { id: string; state: string; terminal: boolean; runId: string | null; expiresAt?: Date }) {
  return trx
    .updateTable('invitations')
    .set({
      state: m.state,
      ...(m.terminal ? { ended_at: new Date() } : {}),
      ...(m.runId ? { run_id: m.runId } : {}),
      ...(m.expiresAt ? { expires_at: m.expiresAt } : {}),
    })
    .where('id', '=', m.id)
    .returning(['id', 'tenant_id', 'account_id', 'workflow_id'])
    .executeTakeFirst();
}
