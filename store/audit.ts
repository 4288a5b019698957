// Append-only audit log, hash-chained per tenant. Each event's hash is an HMAC, under a key the
// database never holds (AUDIT_HMAC_KEYS), of its content and the previous hash: editing, removing
// or reordering events breaks verification from that point on, and whoever can write to the
// database cannot recompute a chain that verifies. The runtime role may only INSERT and SELECT
// events; the head moves in a SECURITY DEFINER trigger (migrations/0008), and the signed heads
// exported outside the database (infra/audit-heads.ts) catch a tail cut off with its head.
import crypto from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { HmacKey } from '../infra/config';
import { constantTimeEqualHex, hmacHex } from '../infra/secrets';
import { auditKeysOf, type Database, type Db } from './db';

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

export interface HashedEvent {
  tenantId: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  recoveryId: string | null;
  details: unknown;
  prevHash: string;
}

/** The unkeyed SHA-256 of events written before the chain was keyed (key_id null); anyone can compute it. */
export function eventHash(e: HashedEvent): string {
  return crypto.createHash('sha256').update(canonicalJson(e)).digest('hex');
}

/** An event's HMAC-SHA256 under an audit key; the key id is hashed too, so it cannot be relabelled. */
export function keyedEventHash(key: HmacKey, e: HashedEvent): string {
  return hmacHex(key.key, canonicalJson({ ...e, keyId: key.id }));
}

function signingKey(trx: Transaction<Database>): HmacKey {
  const key = auditKeysOf(trx)[0];
  if (!key) throw new Error('no audit key on this connection: open it with createDb(url, n, { auditKeys })');
  return key;
}

export async function appendAuditTx(trx: Transaction<Database>, ev: AuditInput): Promise<{ seq: number; hash: string }> {
  const key = signingKey(trx);
  // One round trip takes the tenant's head lock through the owner's SECURITY DEFINER function (it
  // creates the head at genesis and serialises appends per tenant) and, under it, looks the event
  // key up, which makes a retry idempotent.
  const { rows } = await sql<{ head_seq: number; head_hash: string; existing_seq: number | null; existing_hash: string | null }>`
    select h.head_seq, h.head_hash, e.seq as existing_seq, e.hash as existing_hash
      from audit_head_for_append(${ev.tenantId}) h
      left join audit_events e on e.event_key = ${ev.eventKey}`.execute(trx);
  const head = rows[0];
  if (!head) throw new Error(`audit head of tenant ${ev.tenantId} could not be locked`);
  if (head.existing_seq !== null && head.existing_hash !== null) return { seq: Number(head.existing_seq), hash: head.existing_hash };
  const seq = Number(head.head_seq) + 1;
  const at = new Date();
  const details = JSON.parse(JSON.stringify(ev.details ?? {})) as Record<string, unknown>;
  const content = { tenantId: ev.tenantId, seq, at: at.toISOString(), actor: ev.actor, action: ev.action, target: ev.target };
  const hash = keyedEventHash(key, { ...content, recoveryId: ev.recoveryId ?? null, details, prevHash: head.head_hash });
  // The head follows in the table's AFTER INSERT trigger, which refuses an event that does not
  // extend it. ON CONFLICT covers a concurrent append of the same key that committed while this
  // one waited for the lock (the join above read an older snapshot): then nothing is written here.
  const inserted = await trx
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
      prev_hash: head.head_hash,
      hash,
      key_id: key.id,
    })
    .onConflict((oc) => oc.column('event_key').doNothing())
    .returning('seq')
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx.selectFrom('audit_events').select(['seq', 'hash']).where('event_key', '=', ev.eventKey).executeTakeFirstOrThrow();
    return { seq: Number(existing.seq), hash: existing.hash };
  }
  return { seq, hash };
}

export function appendAudit(db: Db, ev: AuditInput): Promise<{ seq: number; hash: string }> {
  return db.transaction().execute((trx) => appendAuditTx(trx, ev));
}

/** A chain's head as exported outside the database (signature already checked). */
export interface ExportedHead {
  seq: number;
  hash: string;
  at: string;
}

export interface ChainVerdict {
  tenantId: string;
  valid: boolean;
  events: number;
  headHash: string;
  firstBrokenSeq: number | null;
  problem: string | null;
  /** Events from before the chain was keyed (only ever a prefix, anchored by an exported head). */
  unkeyedEvents: number;
  /** The latest head exported outside the database that the chain was checked against. */
  exportedHead: { seq: number; at: string } | null;
}

type EventRow = Awaited<ReturnType<typeof chainRows>>[number];
const chainRows = (db: Db, tenantId: string) => db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).orderBy('seq').execute();

/** Why one event does not belong where it is, or null. */
function eventProblem(r: EventRow, tenantId: string, prev: string, keys: readonly HmacKey[], keyedBefore: boolean): string | null {
  const seq = Number(r.seq);
  if (r.prev_hash !== prev) return `event ${seq} does not link to the previous event`;
  const e: HashedEvent = {
    tenantId,
    seq,
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    recoveryId: r.recovery_id,
    details: r.details,
    prevHash: r.prev_hash,
  };
  if (r.key_id === null) {
    if (keyedBefore) return `event ${seq} is unkeyed after keyed events`;
    return eventHash(e) === r.hash ? null : `event ${seq} was altered`;
  }
  const key = keys.find((k) => k.id === r.key_id);
  if (!key) return `event ${seq} is signed with audit key '${r.key_id}', which is not configured`;
  return constantTimeEqualHex(keyedEventHash(key, e), r.hash) ? null : `event ${seq} was altered`;
}

/**
 * Recomputes a chain from genesis with the audit keys (default: those of `db`) and checks it
 * against the head in the database and the latest head exported outside it.
 */
export async function verifyAuditChain(
  db: Db,
  tenantId: string,
  o: { keys?: readonly HmacKey[]; exportedHead?: ExportedHead | null } = {},
): Promise<ChainVerdict> {
  const keys = o.keys ?? auditKeysOf(db);
  const exported = o.exportedHead ?? null;
  const rows = await chainRows(db, tenantId);
  const head = await db.selectFrom('audit_heads').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  let prev = GENESIS_HASH;
  let unkeyed = 0;
  const verdict = (firstBrokenSeq: number | null, problem: string | null): ChainVerdict => ({
    tenantId,
    valid: problem === null,
    events: rows.length,
    headHash: prev,
    firstBrokenSeq,
    problem,
    unkeyedEvents: unkeyed,
    exportedHead: exported && { seq: exported.seq, at: exported.at },
  });
  for (const [i, r] of rows.entries()) {
    const seq = Number(r.seq);
    if (seq !== i + 1) return verdict(i + 1, `event ${i + 1} is missing`);
    const problem = eventProblem(r, tenantId, prev, keys, i > unkeyed);
    if (problem) return verdict(seq, problem);
    if (r.key_id === null) unkeyed++;
    prev = r.hash;
  }
  if (head && (Number(head.seq) !== rows.length || head.hash !== prev)) return verdict(rows.length + 1, 'events after the last one present were removed');
  if (exported) {
    const at = rows[exported.seq - 1];
    if (!at) return verdict(rows.length + 1, `events after ${rows.length} were removed: the head exported at ${exported.at} is event ${exported.seq}`);
    if (at.hash !== exported.hash) return verdict(exported.seq, `event ${exported.seq} differs from the head exported at ${exported.at}`);
  }
  if (unkeyed > 0 && (!exported || exported.seq < unkeyed)) return verdict(1, `${unkeyed} unkeyed events are not yet covered by an exported head`);
  return verdict(null, null);
}

/** Every chain's head, for the export outside the database. */
export function auditHeads(db: Db) {
  return db.selectFrom('audit_heads').select(['tenant_id', 'seq', 'hash']).where('seq', '>', 0).orderBy('tenant_id').execute();
}

/**
 * What the connected role could do to rewrite the audit log behind the chain's back: empty for
 * the runtime role of migrations/0008; a superuser, the tables' owner or a role with UPDATE,
 * DELETE or TRUNCATE on them is named here.
 */
export async function auditLogRewritableBy(db: Db): Promise<string[]> {
  const { rows } = await sql<Record<string, boolean> & { role: string }>`
    select current_user as role,
           (select rolsuper from pg_roles where rolname = current_user) as superuser,
           pg_has_role(current_user, (select relowner from pg_class where oid = 'public.audit_events'::regclass), 'USAGE') as owner,
           has_table_privilege('public.audit_events', 'UPDATE') as events_update,
           has_table_privilege('public.audit_events', 'DELETE') as events_delete,
           has_table_privilege('public.audit_events', 'TRUNCATE') as events_truncate,
           has_table_privilege('public.audit_heads', 'INSERT') as heads_insert,
           has_table_privilege('public.audit_heads', 'UPDATE') as heads_update,
           has_table_privilege('public.audit_heads', 'DELETE') as heads_delete,
           has_table_privilege('public.audit_heads', 'TRUNCATE') as heads_truncate`.execute(db);
  const r = rows[0];
  const named: Record<string, string> = {
    superuser: 'is a superuser',
    owner: 'owns the audit tables',
    events_update: 'may UPDATE audit_events',
    events_delete: 'may DELETE audit_events',
    events_truncate: 'may TRUNCATE audit_events',
    heads_insert: 'may INSERT audit_heads',
    heads_update: 'may UPDATE audit_heads',
    heads_delete: 'may DELETE audit_heads',
    heads_truncate: 'may TRUNCATE audit_heads',
  };
  return Object.keys(named)
    .filter((k) => r[k])
    .map((k) => `role ${r.role} ${named[k]}`);
}

/** A page of a tenant's events in chain order, optionally within [from, to). */
/** A slice of one tenant's chain: a time range, and a cursor (the last `seq` already read). */
export interface AuditRange {
  tenantId: string;
  from?: string;
  to?: string;
  /** Events after this seq only (keyset paging: what a previous page ended on). */
  after?: number;
}

function inRange(db: Db, q: AuditRange) {
  let sel = db.selectFrom('audit_events').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.after !== undefined) sel = sel.where('seq', '>', q.after);
  if (q.from) sel = sel.where('at', '>=', new Date(q.from));
  if (q.to) sel = sel.where('at', '<', new Date(q.to));
  return sel.orderBy('seq');
}

export function listAuditEvents(db: Db, q: AuditRange & { limit: number }) {
  return inRange(db, q).limit(q.limit).execute();
}

/**
 * Up to `limit` events of a range in chain order, read in batches on the (tenant_id, seq) index
 * with a keyset: an export of any size holds one batch in memory at a time.
 */
export async function* auditEventBatches(db: Db, q: AuditRange & { limit: number }, batchSize = 2000) {
  let after = q.after;
  let left = q.limit;
  while (left > 0) {
    const want = Math.min(batchSize, left);
    const rows = await inRange(db, { ...q, after })
      .limit(want)
      .execute();
    if (rows.length) yield rows;
    if (rows.length < want) return;
    left -= rows.length;
    after = Number(rows[rows.length - 1].seq);
  }
}

/** Every event of one case (a recovery or a grant), in chain order. */
export function caseEvents(db: Db, caseId: string) {
  return db.selectFrom('audit_events').selectAll().where('recovery_id', '=', caseId).orderBy('seq').execute();
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
