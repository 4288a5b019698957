// Faults the tests inject straight into Postgres, each with its undo where it leaves something
// behind: an audit append refused, an audit event tampered with, a redemption whose COMMIT fails,
// an idempotency key aged as if its request had died long ago, session inserts slowed to widen a
// race, a session revocation lost.
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../store/db';

/**
 * Makes Postgres refuse one kind of audit event, as if it had stopped just before that append.
 * Returns the undo. For tests that a change commits with its audit event or not at all.
 */
export async function refuseAuditEvents(h: { db: Db }, match: { action: string; recoveryId?: string; tenantId?: string }): Promise<() => Promise<void>> {
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const conditions = [`new.action = ${lit(match.action)}`];
  if (match.recoveryId) conditions.push(`new.recovery_id = ${lit(match.recoveryId)}`);
  if (match.tenantId) conditions.push(`new.tenant_id = ${lit(match.tenantId)}`);
  const fn = `refuse_audit_${crypto.randomBytes(4).toString('hex')}`;
  await h.db.executeQuery(
    sql
      .raw(
        `create function ${fn}() returns trigger language plpgsql as $$
      begin
        if ${conditions.join(' and ')} then raise exception 'audit append refused (test)'; end if;
        return new;
      end $$`,
      )
      .compile(h.db),
  );
  await h.db.executeQuery(sql.raw(`create trigger ${fn} before insert on audit_events for each row execute function ${fn}()`).compile(h.db));
  return async () => {
    await h.db.executeQuery(sql.raw(`drop trigger ${fn} on audit_events; drop function ${fn}()`).compile(h.db));
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

/** Rewrites an event's actor as a superuser can: the append-only trigger off for the update, then on again. */
export async function tamperWithAuditEvent(db: Db, at: AuditEventRef, actor: string): Promise<void> {
  await sql`alter table audit_events disable trigger audit_events_no_update`.execute(db);
  try {
    await sql`update audit_events set actor = ${actor} where tenant_id = ${at.tenantId} and seq = ${at.seq}`.execute(db);
  } finally {
    await sql`alter table audit_events enable trigger audit_events_no_update`.execute(db);
  }
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

/**
 * Makes every insert into `sessions` dawdle for `seconds` (a loaded database), so a sign-in is
 * still inserting when a revoke lands. Returns the undo.
 */
export async function slowSessionInserts(h: { db: Db }, seconds: number): Promise<() => Promise<void>> {
  const fn = `slow_sessions_${crypto.randomBytes(4).toString('hex')}`;
  await h.db.executeQuery(
    sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin perform pg_sleep(${Number(seconds)}); return new; end $$`).compile(h.db),
  );
  await h.db.executeQuery(sql.raw(`create trigger ${fn} before insert on sessions for each row execute function ${fn}()`).compile(h.db));
  return async () => {
    await h.db.executeQuery(sql.raw(`drop trigger ${fn} on sessions; drop function ${fn}()`).compile(h.db));
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
