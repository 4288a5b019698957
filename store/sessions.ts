// The built-in directory's sessions: opened by a password or an emergency credential, revoked
// one grant's or one account's at a time, and checked. The only owner of `sessions`.
import { sql } from 'kysely';
import type { Db } from './db';
import { accessSessionSource } from '../domain/directory';
import { lockRateKey, takeSlot } from './rate-limits';

export async function openSession(db: Db, accountUuid: string, source = 'password'): Promise<string> {
  const row = await db.insertInto('sessions').values({ account_id: accountUuid, source }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** The public sign-in's limits: attempts per client IP and per presented account, in one window. */
export interface SignInLimits {
  perIp: number;
  perAccount: number;
  windowSeconds: number;
}

/**
 * Takes one slot of the client IP's window and one of the presented account's (whether or not it
 * exists), each under its key's lock, in one statement, and commits them. False: a limit is reached.
 */
export function takeSignInSlots(db: Db, ip: string, account: string, l: SignInLimits): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    // Always in this order (IP, then account): two sign-ins never wait for each other crosswise.
    await lockRateKey(trx, 'signin_ip', ip);
    await lockRateKey(trx, 'signin_account', account);
    const { rows } = await sql<{ ip_ok: boolean; account_ok: boolean }>`
      with ip as (${takeSlot('signin_ip', ip, l.perIp, l.windowSeconds)}),
           acct as (${takeSlot('signin_account', account, l.perAccount, l.windowSeconds)})
      select exists (select 1 from ip) as ip_ok, exists (select 1 from acct) as account_ok`.execute(trx);
    return rows[0].ip_ok && rows[0].account_ok;
  });
}

/**
 * Opens a session with an emergency credential in one statement, only while the credential is
 * live, and returns it (or null). The statement share-locks the credential row: a revoke (an
 * UPDATE of that row) waits for the insert to commit and then finds its session, or the insert
 * waits for the revoke and finds no live credential. The session carries the credential's expiry.
 */
export async function openCredentialSession(
  db: Db,
  c: { tenantId: string; accountId: string; credentialHash: string },
): Promise<{ id: string; grantId: string } | null> {
  const { rows } = await sql<{ id: string; grant_id: string }>`
    with cred as (
      select grant_id, expires_at from access_credentials
      where credential_hash = ${c.credentialHash} and tenant_id = ${c.tenantId} and account_id = ${c.accountId}
        and revoked_at is null and expires_at > now()
      for share
    ), s as (
      insert into sessions (account_id, source, expires_at)
      select a.id, ${accessSessionSource('')} || cred.grant_id, cred.expires_at
        from cred join accounts a on a.tenant_id = ${c.tenantId} and a.external_id = ${c.accountId}
      returning id
    )
    select s.id, (select grant_id from cred) as grant_id from s`.execute(db);
  return rows[0] ? { id: rows[0].id, grantId: rows[0].grant_id } : null;
}

/**
 * Opens a password session in one statement, only while the password just verified is still the
 * account's and the account is active and local, and returns it (or null). The statement
 * share-locks the password row: a reset's new hash (an upsert of that row) waits for the insert to
 * commit, so the reset's later revocation finds this session; or the insert waits for the new hash
 * and finds the verified one gone. The session expires `lifetimeSeconds` from now.
 */
export async function openPasswordSession(
  db: Db,
  c: { accountUuid: string; passwordHash: string; lifetimeSeconds: number },
): Promise<{ id: string; expiresAt: Date } | null> {
  const { rows } = await sql<{ id: string; expires_at: Date }>`
    with cred as (
      select pc.account_id from password_credentials pc join accounts a on a.id = pc.account_id
      where pc.account_id = ${c.accountUuid} and pc.password_hash = ${c.passwordHash}
        and a.status = 'active' and a.auth_method = 'local'
      for share of pc
    )
    insert into sessions (account_id, source, expires_at)
    select account_id, 'password', now() + make_interval(secs => ${c.lifetimeSeconds}) from cred
    returning id, expires_at`.execute(db);
  return rows[0] ? { id: rows[0].id, expiresAt: new Date(rows[0].expires_at) } : null;
}

/** The directory's session check: not revoked and, if it has an expiry (emergency access), before it. */
export async function sessionIsLive(db: Db, sessionId: string): Promise<boolean> {
  const row = await db
    .selectFrom('sessions')
    .select('id')
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return !!row;
}

export async function revokeAllSessions(db: Db, accountUuid: string, reason: string): Promise<number> {
  const r = await db
    .updateTable('sessions')
    .set({ revoked_at: new Date(), revoke_reason: reason })
    .where('account_id', '=', accountUuid)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Revokes the sessions opened with one emergency credential. */
export async function revokeAccessSessions(db: Db, grantId: string, reason: string): Promise<number> {
  const r = await db
    .updateTable('sessions')
    .set({ revoked_at: new Date(), revoke_reason: reason })
    .where('source', '=', accessSessionSource(grantId))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
