// Faults the tests inject straight into Postgres, each with its undo where it leaves something
// behind: an audit append refused, an audit event tampered with, a redemption whose COMMIT fails,
// an idempotency key aged as if its request had died long ago, session inserts slowed to widen a
// race, a session revocation lost, risk assessments' records held back. What needs more than the
// engine's own role (DDL, rewriting the audit log) runs as the schema's owner (`ownerDb`).
import crypto from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import * as m0014 from '../migrations/0014_account_id_case';
import { eventHash } from '../store/audit';
import type { Database, Db } from '../store/db';

/**
 * Makes Postgres refuse one kind of audit event, as if it had stopped just before that append.
 * Returns the undo. For tests that a change commits with its audit event or not at all.
 */
export async function refuseAuditEvents(h: { ownerDb: Db }, match: { action: string; recoveryId?: string; tenantId?: string }): Promise<() => Promise<void>> {
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const conditions = [`new.action = ${lit(match.action)}`];
  if (match.recoveryId) conditions.push(`new.recovery_id = ${lit(match.recoveryId)}`);
  if (match.tenantId) conditions.push(`new.tenant_id = ${lit(match.tenantId)}`);
  const fn = `refuse_audit_${crypto.randomBytes(4).toString('hex')}`;
  const db = h.ownerDb;
  await db.executeQuery(
    sql
      .raw(
        `create function ${fn}() returns trigger language plpgsql as $$
      begin
        if ${conditions.join(' and ')} then raise exception 'audit append refused (test)'; end if;
        return new;
      end $$`,
      )
      .compile(db),
  );
  await db.executeQuery(sql.raw(`create trigger ${fn} before insert on audit_events for each row execute function ${fn}()`).compile(db));
  return async () => {
    await db.executeQuery(sql.raw(`drop trigger ${fn} on audit_events; drop function ${fn}()`).compile(db));
  };
}

/** Where an audit event sits: its tenant's chain and its place in it. */
export interface AuditEventRef {
  tenantId: string;
  seq: number;
}

/** Rewrites an event's actor the ordinary way, which the log's append-only trigger must refuse. */
export async function updateAuditEvent(db: Db, at: AuditEventRef, actor: string): Promise<void> {
  await sql`update audit_events set actor = ${actor} where tenant_id = ${at.tenantId} and seq = ${at.seq}`.execute(db);
}

/** Deletes an event the ordinary way: what the runtime role must not be able to do. */
export async function deleteAuditEventPlainly(db: Db, at: AuditEventRef): Promise<void> {
  await sql`delete from audit_events where tenant_id = ${at.tenantId} and seq = ${at.seq}`.execute(db);
}

/** Empties a table of the audit log (`audit_events` or `audit_heads`) with TRUNCATE, which row triggers never see. */
export async function truncateAuditTable(db: Db, table: 'audit_events' | 'audit_heads'): Promise<void> {
  await sql`truncate ${sql.table(table)}`.execute(db);
}

/** Switches the audit log's own triggers off: what only the table's owner may do. */
export async function switchOffAuditTriggers(db: Db): Promise<void> {
  await sql`alter table audit_events disable trigger user`.execute(db);
}

/** Moves a chain's head by hand, as if the events after `seq` did not exist. */
export async function moveAuditHead(db: Db, tenantId: string, seq: number): Promise<void> {
  await sql`update audit_heads set seq = ${seq} where tenant_id = ${tenantId}`.execute(db);
}

/**
 * Runs `tamper` as the log's owner can: in one transaction with the log's own triggers off (the
 * owner may switch them off; the runtime role may not), on again before the commit.
 */
async function withoutAuditTriggers(ownerDb: Db, tamper: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
  await ownerDb.transaction().execute(async (trx) => {
    await sql`alter table audit_events disable trigger user`.execute(trx);
    await tamper(trx);
    await sql`alter table audit_events enable trigger user`.execute(trx);
  });
}

/** Rewrites an event's actor as the owner can, bypassing the append-only trigger. */
export async function tamperWithAuditEvent(ownerDb: Db, at: AuditEventRef, actor: string): Promise<void> {
  await withoutAuditTriggers(ownerDb, async (trx) => {
    await sql`update audit_events set actor = ${actor} where tenant_id = ${at.tenantId} and seq = ${at.seq}`.execute(trx);
  });
}

/** Deletes one event as the owner can (the head stays). */
export async function deleteAuditEvent(ownerDb: Db, at: AuditEventRef): Promise<void> {
  await withoutAuditTriggers(ownerDb, async (trx) => {
    await sql`delete from audit_events where tenant_id = ${at.tenantId} and seq = ${at.seq}`.execute(trx);
  });
}

/** Swaps the places of two events of a chain (their seq), as the owner can. */
export async function swapAuditEvents(ownerDb: Db, tenantId: string, a: number, b: number): Promise<void> {
  await withoutAuditTriggers(ownerDb, async (trx) => {
    await sql`update audit_events set seq = -1 where tenant_id = ${tenantId} and seq = ${a}`.execute(trx);
    await sql`update audit_events set seq = ${a} where tenant_id = ${tenantId} and seq = ${b}`.execute(trx);
    await sql`update audit_events set seq = ${b} where tenant_id = ${tenantId} and seq = -1`.execute(trx);
  });
}

/** Deletes the events after `seq` and moves the head back onto event `seq`: a consistent, shorter chain. */
export async function rewindAuditChain(ownerDb: Db, tenantId: string, seq: number): Promise<void> {
  await withoutAuditTriggers(ownerDb, async (trx) => {
    await sql`delete from audit_events where tenant_id = ${tenantId} and seq > ${seq}`.execute(trx);
    await sql`update audit_heads h set seq = e.seq, hash = e.hash from audit_events e
               where h.tenant_id = ${tenantId} and e.tenant_id = h.tenant_id and e.seq = ${seq}`.execute(trx);
  });
}

/**
 * Rewrites event `seq`'s actor and recomputes every hash from there to the head with the log's
 * unkeyed SHA-256 (store/audit.ts eventHash), head included: a chain that links and hashes.
 * `unkeyed`: the events are also relabelled as written before the chain was keyed (key_id null).
 */
export async function recomputeAuditChain(ownerDb: Db, at: AuditEventRef, actor: string, o: { unkeyed?: boolean } = {}): Promise<void> {
  await withoutAuditTriggers(ownerDb, async (trx) => {
    // The owner may lift the constraint that new events be keyed, and put it back (NOT VALID) after.
    if (o.unkeyed) await sql`alter table audit_events drop constraint audit_events_keyed`.execute(trx);
    const rows = await trx.selectFrom('audit_events').selectAll().where('tenant_id', '=', at.tenantId).orderBy('seq').execute();
    let prev = rows.find((r) => Number(r.seq) === at.seq - 1)?.hash ?? '0'.repeat(64);
    for (const r of rows.filter((x) => Number(x.seq) >= at.seq)) {
      const seq = Number(r.seq);
      const newActor = seq === at.seq ? actor : r.actor;
      const hash = eventHash({
        tenantId: at.tenantId,
        seq,
        at: new Date(r.at).toISOString(),
        actor: newActor,
        action: r.action,
        target: r.target,
        recoveryId: r.recovery_id,
        details: r.details,
        prevHash: prev,
      });
      await sql`update audit_events set actor = ${newActor}, prev_hash = ${prev}, hash = ${hash},
                 key_id = ${o.unkeyed ? null : r.key_id} where id = ${r.id}`.execute(trx);
      prev = hash;
    }
    await sql`update audit_heads set hash = ${prev} where tenant_id = ${at.tenantId}`.execute(trx);
    if (o.unkeyed) await sql`alter table audit_events add constraint audit_events_keyed check (key_id is not null) not valid`.execute(trx);
  });
}

/**
 * What POST /v1/links/redeem writes (the token used, a password staged), in one transaction that
 * runs `beforeCommit` while it is still open: if that throws, as a failed COMMIT would, nothing
 * of it stays.
 */
export function redeemInTransaction(db: Db, tokenId: string, beforeCommit: () => Promise<void>): Promise<void> {
  return db.transaction().execute(async (trx) => {
    await trx.updateTable('one_time_tokens').set({ used_at: new Date() }).where('id', '=', tokenId).execute();
    await trx.insertInto('staged_credentials').values({ token_id: tokenId, password_hash: 'never-applied' }).execute();
    await beforeCommit();
  });
}

/**
 * Dates an idempotency key back by `seconds` with this stored status (null: still in progress)
 * and no stored answer, as if its request had run, or died, that long ago.
 */
export async function ageIdempotencyKey(db: Db, key: string, seconds: number, statusCode: number | null): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .where('key', '=', key)
    .set({ status_code: statusCode, response: null, created_at: new Date(Date.now() - seconds * 1000) })
    .execute();
}

/** Appends `n` unkeyed events (SHA-256, no key id) that link to the chain's head, under its lock. */
async function insertUnkeyed(trx: Transaction<Database>, tenantId: string, n: number): Promise<void> {
  const { rows } = await sql<{ head_seq: number; head_hash: string }>`select * from audit_head_for_append(${tenantId})`.execute(trx);
  let { head_seq: seq, head_hash: prev } = rows[0];
  for (let i = 0; i < n; i++) {
    seq = Number(seq) + 1;
    const at = new Date();
    const e = {
      tenantId,
      seq,
      at: at.toISOString(),
      actor: 'system',
      action: 'legacy.appended',
      target: `tenant:${tenantId}`,
      recoveryId: null,
      details: { i },
    };
    const hash = eventHash({ ...e, prevHash: prev });
    await trx
      .insertInto('audit_events')
      .values({
        tenant_id: tenantId,
        seq,
        event_key: `${tenantId}:unkeyed:${seq}`,
        at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        recovery_id: null,
        details: JSON.stringify(e.details),
        prev_hash: prev,
        hash,
        key_id: null,
      })
      .execute();
    prev = hash;
  }
}

/**
 * Appends `n` events as the log held them before it was keyed (migrations/0008): unkeyed SHA-256
 * hashes, no key id. Written as the owner, through the same head lock and head trigger, with the
 * constraint that new events be keyed lifted meanwhile (as it was before 0008).
 */
export async function appendUnkeyedAuditEvents(ownerDb: Db, tenantId: string, n: number): Promise<void> {
  await ownerDb.transaction().execute(async (trx) => {
    await sql`alter table audit_events drop constraint audit_events_keyed`.execute(trx);
    await insertUnkeyed(trx, tenantId, n);
    await sql`alter table audit_events add constraint audit_events_keyed check (key_id is not null) not valid`.execute(trx);
  });
}

/** Extends a chain with one unkeyed event that links to its head: what someone without the key could append. */
export async function appendUnkeyedAuditEvent(db: Db, tenantId: string): Promise<void> {
  await db.transaction().execute((trx) => insertUnkeyed(trx, tenantId, 1));
}

/**
 * Makes every insert into `sessions` dawdle for `seconds` (a loaded database), so a sign-in is
 * still inserting when a revoke lands. Returns the undo.
 */
export async function slowSessionInserts(h: { ownerDb: Db }, seconds: number): Promise<() => Promise<void>> {
  const fn = `slow_sessions_${crypto.randomBytes(4).toString('hex')}`;
  await h.ownerDb.executeQuery(
    sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin perform pg_sleep(${Number(seconds)}); return new; end $$`).compile(h.ownerDb),
  );
  await h.ownerDb.executeQuery(sql.raw(`create trigger ${fn} before insert on sessions for each row execute function ${fn}()`).compile(h.ownerDb));
  return async () => {
    await h.ownerDb.executeQuery(sql.raw(`drop trigger ${fn} on sessions; drop function ${fn}()`).compile(h.ownerDb));
  };
}

/** How many statements inserting into `sessions` other connections of this database are running now. */
export async function sessionInsertsInFlight(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and state = 'active'
      and query ilike '%insert into%sessions%'`.execute(db);
  return rows[0].n;
}

/** Clears a session's revocation, as if it had been lost (a race, an operator's mistake). */
export async function loseSessionRevocation(db: Db, sessionId: string): Promise<void> {
  await sql`update sessions set revoked_at = null, revoke_reason = null where id = ${sessionId}`.execute(db);
}

/** Suspends an account, as an identity admin would (no engine route changes an account's status). */
export async function suspendAccount(db: Db, tenantId: string, accountId: string): Promise<void> {
  await db.updateTable('accounts').set({ status: 'suspended' }).where('tenant_id', '=', tenantId).where('external_id', '=', accountId).execute();
}

/**
 * A tenant name as data stored before the API refused control, bidi and zero-width characters
 * would hold it: written past the API, so the templates' own neutralising is what is tested.
 */
export async function storeTenantNameUnchecked(ownerDb: Db, tenantId: string, name: string): Promise<void> {
  await ownerDb.updateTable('tenants').set({ name }).where('id', '=', tenantId).execute();
}

/**
 * Accounts as a database from before migration 0014 could hold them: the migration is undone,
 * these ids inserted into the tenant as they are (case-only duplicates included), and the
 * migration run again over them, as an upgrade would.
 */
export async function upgradeOverLegacyAccountIds(ownerDb: Db, tenantId: string, externalIds: string[]): Promise<void> {
  await m0014.down(ownerDb);
  for (const id of externalIds) {
    await sql`insert into accounts (tenant_id, external_id, role, auth_method) values (${tenantId}, ${id}, 'standard', 'local')`.execute(ownerDb);
  }
  await m0014.up(ownerDb);
}

/** Ages every session of a principal past its end, as if its lifetime had run out. */
export async function expireConsoleSessions(db: Db, principalId: string): Promise<void> {
  await db
    .updateTable('console_sessions')
    .set({ expires_at: sql<Date>`now() - interval '1 second'` })
    .where('principal_id', '=', principalId)
    .execute();
}

/**
 * Holds every insert into risk_assessments back (a share lock, which reads pass) while `during`
 * runs, and lets them go when it returns; a promise `during` started and returns inside an object
 * is not waited for. For tests that a read waits for a record still unwritten.
 */
export function holdAssessmentRecords<T>(db: Db, during: () => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`lock table risk_assessments in share mode`.execute(trx);
    return during();
  });
}
