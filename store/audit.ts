// Append-only audit log, hash-chained per tenant. Each event's hash covers its content and the
// previous hash, so editing or removing any event breaks verification from that point on.
import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  tenantId: string;
  /** Idempotency: appending the same key twice records one event. */
  eventKey: string;
  actor: string;
  action: string;
  target: string;
  recoveryId?: string | null;
  details: Record<string, unknown>;
}

/** JSON with keys sorted at every level: Postgres jsonb reorders keys, the hash must not care. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

export function eventHash(e: {
  tenantId: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  recoveryId: string | null;
  details: unknown;
  prevHash: string;
}): string {
  return crypto.createHash('sha256').update(canonicalJson(e)).digest('hex');
}

export async function appendAuditTx(trx: Transaction<Database>, ev: AuditInput): Promise<{ seq: number; hash: string }> {
  // One round trip takes the tenant's head lock (it serialises appends per tenant) and, under it,
  // looks the event key up, which makes a retry idempotent.
  const lockHead = () =>
    trx
      .selectFrom('audit_heads as h')
      .leftJoin('audit_events as e', (j) => j.on('e.event_key', '=', ev.eventKey))
      .select(['h.seq', 'h.hash', 'e.seq as existingSeq', 'e.hash as existingHash'])
      .where('h.tenant_id', '=', ev.tenantId)
      .forUpdate('h')
      .executeTakeFirst();
  let head = await lockHead();
  if (!head) {
    await trx
      .insertInto('audit_heads')
      .values({ tenant_id: ev.tenantId, seq: 0, hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    head = await lockHead();
    if (!head) throw new Error(`audit head of tenant ${ev.tenantId} could not be created`);
  }
  if (head.existingSeq !== null && head.existingHash !== null) return { seq: Number(head.existingSeq), hash: head.existingHash };
  const seq = Number(head.seq) + 1;
  const at = new Date();
  const details = JSON.parse(JSON.stringify(ev.details ?? {})) as Record<string, unknown>;
  const hash = eventHash({
    tenantId: ev.tenantId,
    seq,
    at: at.toISOString(),
    actor: ev.actor,
    action: ev.action,
    target: ev.target,
    recoveryId: ev.recoveryId ?? null,
    details,
    prevHash: head.hash,
  });
  // The event and the new head in one statement: the lock is held for one more round trip only.
  // ON CONFLICT covers a concurrent append of the same key that committed while this one waited
  // for the lock (the join above read an older snapshot): then nothing is written here.
  const moved = await trx
    .with('appended', (db) =>
      db
        .insertInto('audit_events')
        .values({
          tenant_id: ev.tenantId,
          seq,
          event_key: ev.eventKey,
          at,
          actor: ev.actor,
          action: ev.action,
          target: ev.target,
          recovery_id: ev.recoveryId ?? null,
          details: JSON.stringify(details),
          prev_hash: head.hash,
          hash,
        })
        .onConflict((oc) => oc.column('event_key').doNothing())
        .returning('seq'),
    )
    .updateTable('audit_heads')
    .set({ seq, hash })
    .where('tenant_id', '=', ev.tenantId)
    .where((eb) => eb.exists(eb.selectFrom('appended').select('appended.seq')))
    .returning('audit_heads.seq')
    .executeTakeFirst();
  if (!moved) {
    const existing = await trx.selectFrom('audit_events').select(['seq', 'hash']).where('event_key', '=', ev.eventKey).executeTakeFirstOrThrow();
    return { seq: Number(existing.seq), hash: existing.hash };
  }
  return { seq, hash };
}

export function appendAudit(db: Db, ev: AuditInput): Promise<{ seq: number; hash: string }> {
  return db.transaction().execute((trx) => appendAuditTx(trx, ev));
}

export interface ChainVerdict {
  tenantId: string;
  valid: boolean;
  events: number;
  headHash: string;
  firstBrokenSeq: number | null;
  problem: string | null;
}

export async function verifyAuditChain(db: Db, tenantId: string): Promise<ChainVerdict> {
  const rows = await db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).orderBy('seq').execute();
  const head = await db.selectFrom('audit_heads').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  const broken = (seq: number, problem: string): ChainVerdict => ({
    tenantId,
    valid: false,
    events: rows.length,
    headHash: prev,
    firstBrokenSeq: seq,
    problem,
  });
  for (const r of rows) {
    const seq = Number(r.seq);
    if (seq !== expectedSeq) return broken(expectedSeq, `event ${expectedSeq} is missing`);
    if (r.prev_hash !== prev) return broken(seq, `event ${seq} does not link to the previous event`);
    const h = eventHash({
      tenantId,
      seq,
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target,
      recoveryId: r.recovery_id,
      details: r.details,
      prevHash: r.prev_hash,
    });
    if (h !== r.hash) return broken(seq, `event ${seq} was altered`);
    prev = r.hash;
    expectedSeq++;
  }
  if (head && (Number(head.seq) !== rows.length || head.hash !== prev)) return broken(rows.length + 1, 'events after the last one present were removed');
  return { tenantId, valid: true, events: rows.length, headHash: prev, firstBrokenSeq: null, problem: null };
}

/** A page of a tenant's events in chain order, optionally within [from, to). */
export function listAuditEvents(db: Db, q: { tenantId: string; from?: string; to?: string; limit: number }) {
  let sel = db.selectFrom('audit_events').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.from) sel = sel.where('at', '>=', new Date(q.from));
  if (q.to) sel = sel.where('at', '<', new Date(q.to));
  return sel.orderBy('seq').limit(q.limit).execute();
}

export async function auditEventExists(trx: Transaction<Database>, eventKey: string): Promise<boolean> {
  return !!(await trx.selectFrom('audit_events').select('id').where('event_key', '=', eventKey).executeTakeFirst());
}

/** The details of a case's first event with this action (e.g. the approval deadline it set). */
export async function caseEventDetails(db: Db, caseId: string, action: string): Promise<Record<string, unknown> | null> {
  const row = await db.selectFrom('audit_events').select('details').where('recovery_id', '=', caseId).where('action', '=', action).executeTakeFirst();
  return row?.details ?? null;
}

/** The actors of a case's events with these actions (e.g. who decided a grant). */
export async function caseActors(db: Db, caseId: string, actions: string[]): Promise<string[]> {
  const rows = await db.selectFrom('audit_events').select('actor').where('recovery_id', '=', caseId).where('action', 'in', actions).execute();
  return rows.map((r) => r.actor);
}
