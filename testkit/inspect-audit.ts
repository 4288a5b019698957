// What tests, drills and benchmarks read from the audit log to check the engine's work: events by
// tenant, case, action or key, the chain's head, and counts; and the shape of the log's export
// (GET /v1/audit). Reads only (faults.ts tampers).
import { sql, type SelectQueryBuilder } from 'kysely';
import type { Database, Db } from '../store/db';
import type { AuditEventOut } from '../domain/ocsf';
import { found } from './inspect';

/** One event of GET /v1/audit's JSON answer: the export's own shape. */
export type AuditEventJson = AuditEventOut;

/** Which events: every condition given must hold. */
export interface AuditFilter {
  tenantId?: string;
  /** A recovery's or a grant's id (the column is `recovery_id`), or any of several (an empty list matches nothing). */
  caseId?: string | readonly string[];
  /** One action, or any of several. */
  action?: string | readonly string[];
  /** An event key, exactly. */
  eventKey?: string;
  /** A LIKE pattern on the event key (`<case>:<step>:%`: every event of one activity step). */
  eventKeyLike?: string;
}

function matching<O>(q: SelectQueryBuilder<Database, 'audit_events', O>, f: AuditFilter): SelectQueryBuilder<Database, 'audit_events', O> {
  if (f.tenantId !== undefined) q = q.where('tenant_id', '=', f.tenantId);
  if (typeof f.caseId === 'string') q = q.where('recovery_id', '=', f.caseId);
  // '-' is no case's id: `in ()` is not SQL.
  else if (f.caseId !== undefined) q = q.where('recovery_id', 'in', f.caseId.length ? f.caseId : ['-']);
  if (typeof f.action === 'string') q = q.where('action', '=', f.action);
  else if (f.action !== undefined) q = q.where('action', 'in', f.action);
  if (f.eventKey !== undefined) q = q.where('event_key', '=', f.eventKey);
  if (f.eventKeyLike !== undefined) q = q.where('event_key', 'like', f.eventKeyLike);
  return q;
}

/** The events that match, in chain order (seq). */
export function auditEvents(db: Db, f: AuditFilter) {
  return matching(db.selectFrom('audit_events').selectAll(), f).orderBy('seq').execute();
}

/** The first matching event in chain order; throws if there is none. */
export async function firstAuditEvent(db: Db, f: AuditFilter) {
  return found((await auditEvents(db, f))[0], `audit event ${JSON.stringify(f)}`);
}

/** A case's actions in chain order. */
export async function auditActionsOf(db: Db, caseId: string): Promise<string[]> {
  return (await auditEvents(db, { caseId })).map((e) => e.action);
}

/** How many events match. */
export async function countAuditEvents(db: Db, f: AuditFilter): Promise<number> {
  const r = await matching(
    db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')),
    f,
  ).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Matching events counted per case and action. */
export function auditCountsByCaseAndAction(db: Db, f: AuditFilter) {
  return matching(db.selectFrom('audit_events').select(['recovery_id', 'action', (eb) => eb.fn.countAll<number>().as('n')]), f)
    .groupBy(['recovery_id', 'action'])
    .execute();
}

/** Event keys held by more than one event, in the whole database (the engine keys each event once). */
export async function duplicatedAuditKeys(db: Db): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from (select event_key from audit_events group by event_key having count(*) > 1) d`.execute(db);
  return rows[0].n;
}

/** The head of a tenant's chain (last seq and hash); throws if the tenant has none. */
export async function auditHeadOf(db: Db, tenantId: string) {
  return found(await db.selectFrom('audit_heads').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst(), `audit head of ${tenantId}`);
}

/**
 * Events recorded in [from, to), in the whole database, and how many of them are workflow state
 * transitions (recordTransition's events carry `workflowTime` in their details).
 */
export async function transitionsBetween(db: Db, from: Date, to: Date): Promise<{ transitions: number; events: number }> {
  const counts = await sql<{ transitions: string; events: string }>`
      select count(*) filter (where details ? 'workflowTime') as transitions, count(*) as events
        from audit_events where at >= ${from} and at < ${to}`.execute(db);
  return { transitions: Number(counts.rows[0].transitions), events: Number(counts.rows[0].events) };
}
