// The recoveries read model: one row per recovery, written when a request is recorded and moved
// by each transition the workflow records. The only owner of `recoveries`.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';
import { json } from './db';
import { ACTIVE_STATES, type Reason } from '../domain/types';
import { lockRateKey, takeSlot } from './rate-limits';

type Trx = Transaction<Database>;
export type RecoveryRow = NonNullable<Awaited<ReturnType<typeof getRecovery>>>;

/** The partial unique index `recoveries_one_active_uq`: one active recovery per account and kind. */
const ACTIVE_LIST = sql.raw(`(${ACTIVE_STATES.map((st) => `'${st}'`).join(',')})`);

export function getRecovery(db: Db, id: string) {
  return db.selectFrom('recoveries').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listRecoveries(db: Db, q: { tenantId: string; status?: string; accountId?: string; before?: string; limit: number }) {
  let sel = db.selectFrom('recoveries').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.status) sel = sel.where('state', '=', q.status);
  if (q.accountId) sel = sel.where('account_id', '=', q.accountId);
  if (q.before) sel = sel.where('created_at', '<', new Date(q.before));
  return sel.orderBy('created_at', 'desc').limit(q.limit).execute();
}

export interface RecoveryRequest {
  id: string;
  tenantId: string;
  accountId: string;
  kind: string;
  requestedBy: string;
  reason: string;
  ticketRef: string | null;
  errorSource: string;
  urgency: string;
  context: { ip: string };
  workflowId: string;
}

/**
 * Under the per-IP lock, one statement (its snapshot is taken after the lock is held): count the
 * window, take the slot if there is room, insert the row if no recovery of this kind is active.
 * A request refused as a duplicate still uses its slot.
 */
export async function insertRecoveryWithinLimit(trx: Trx, r: RecoveryRequest, perIpPerHour: number) {
  const ip = r.context.ip;
  await lockRateKey(trx, 'recovery_ip', ip);
  const { rows } = await sql<{ slotted: boolean; inserted: boolean; existing: string | null }>`
    with slot as (${takeSlot('recovery_ip', ip, perIpPerHour, 3600)}), rec as (
      insert into recoveries (id, tenant_id, account_id, kind, state, requested_by, reason, ticket_ref, error_source, urgency, context, workflow_id, reasons)
      select ${r.id}, ${r.tenantId}, ${r.accountId}, ${r.kind}, 'received', ${r.requestedBy}, ${r.reason}, ${r.ticketRef},
             ${r.errorSource}, ${r.urgency}, ${JSON.stringify(r.context)}::jsonb, ${r.workflowId}, '[]'::jsonb
      from slot
      on conflict (tenant_id, account_id, kind) where state in ${ACTIVE_LIST} do nothing
      returning id
    )
    select exists (select 1 from slot) as slotted,
           exists (select 1 from rec) as inserted,
           (select r.id from recoveries r
            where not exists (select 1 from rec)
              and r.tenant_id = ${r.tenantId} and r.account_id = ${r.accountId} and r.kind = ${r.kind} and r.state in ${ACTIVE_LIST}
            limit 1) as existing`.execute(trx);
  return rows[0];
}

/** Nothing started: the row leaves the active set. */
export async function markStartFailed(trx: Trx, id: string): Promise<void> {
  await trx
    .updateTable('recoveries')
    .set({ state: 'failed', ended_at: new Date(), reasons: JSON.stringify([{ code: 'start_failed', detail: 'the workflow could not be started' }]) })
    .where('id', '=', id)
    .execute();
}

/**
 * Moves the row to a new state under a row lock and returns what the audit event needs. The run
 * id is written by the run's first transition and kept after.
 */
export async function moveRecovery(
  trx: Trx,
  t: { id: string; state: string; terminal: boolean; riskTier: string | null; route: string | null; reasons: Reason[]; runId: string | null },
) {
  const r = await trx.selectFrom('recoveries').select(['account_id', 'kind']).where('id', '=', t.id).forUpdate().executeTakeFirst();
  if (!r) return null;
  await trx
    .updateTable('recoveries')
    .set({
      state: t.state,
      risk_tier: t.riskTier,
      route: t.route,
      reasons: json(t.reasons),
      run_id: sql<string | null>`coalesce(run_id, ${t.runId})`,
      updated_at: new Date(),
      ...(t.terminal ? { ended_at: sql`coalesce(ended_at, now())` } : {}),
    })
    .where('id', '=', t.id)
    .execute();
  return r;
}

/** Other requests for the same account in the 24 hours before this one (rate limit per account). */
export async function recentRequestsForAccount(db: Db, r: { id: string; tenant_id: string; account_id: string; created_at: Date }): Promise<number> {
  const { count } = await db
    .selectFrom('recoveries')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('tenant_id', '=', r.tenant_id)
    .where('account_id', '=', r.account_id)
    .where('id', '!=', r.id)
    .where('created_at', '>', sql<Date>`${r.created_at}::timestamptz - interval '24 hours'`)
    .where('created_at', '<=', r.created_at)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** Ended recoveries by kind and final state, for the metrics gauge. */
export function endedRecoveryCounts(db: Db) {
  return db
    .selectFrom('recoveries')
    .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('ended_at', 'is not', null)
    .groupBy(['kind', 'state'])
    .execute();
}

/** Open recoveries in these states, by kind and state, for the metrics gauge. */
export function recoveryCountsIn(db: Db, states: string[]) {
  return db
    .selectFrom('recoveries')
    .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'in', states)
    .groupBy(['kind', 'state'])
    .execute();
}

/** An account's recoveries still running (not ended), oldest first. */
export function openRecoveriesOf(db: Db, tenantId: string, accountId: string) {
  return db
    .selectFrom('recoveries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where('ended_at', 'is', null)
    .orderBy('created_at')
    .execute();
}
