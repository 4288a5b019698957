// People signed in to the engine's pages (for the Temporal Web UI's codec requests): the
// single-use sign-in links (HMACs of their tokens only, like every link) and the sessions (SHA-256
// of the cookie's value). The only owner of `console_signin_links` and `console_sessions`.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';
import { normaliseEmail } from '../domain/person';

type Trx = Transaction<Database>;

/**
 * Enabled principals whose person confirmed this address and who hold one of `roles`: the ones a
 * sign-in link may be mailed for (at most `limit`).
 */
export function signinPrincipalsByEmail(db: Db, email: string, roles: readonly string[], limit: number) {
  return db
    .selectFrom('principals')
    .innerJoin('persons', 'persons.id', 'principals.person_id')
    .select(['principals.id', 'principals.name', 'principals.roles', 'principals.tenant_scope', 'persons.email'])
    .where('persons.email', '=', normaliseEmail(email))
    .where('principals.person_confirmed_at', 'is not', null)
    .where('principals.disabled_at', 'is', null)
    .where(sql<boolean>`principals.roles && ${sql.val([...roles])}::text[]`)
    .orderBy('principals.id')
    .limit(limit)
    .execute();
}

export async function insertSigninLink(db: Db, l: { principalId: string; keyId: string; tokenHash: string; expiresAt: Date }): Promise<string> {
  const row = await db
    .insertInto('console_signin_links')
    .values({ principal_id: l.principalId, key_id: l.keyId, token_hash: l.tokenHash, expires_at: l.expiresAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Whether a sign-in link with this HMAC is live (unused, unexpired, its principal enabled). */
export async function signinLinkLive(db: Db, hash: string): Promise<boolean> {
  const row = await db
    .selectFrom('console_signin_links')
    .innerJoin('principals', 'principals.id', 'console_signin_links.principal_id')
    .select('console_signin_links.id')
    .where('console_signin_links.token_hash', '=', hash)
    .where('console_signin_links.used_at', 'is', null)
    .where('console_signin_links.expires_at', '>', sql<Date>`now()`)
    .where('principals.disabled_at', 'is', null)
    .executeTakeFirst();
  return !!row;
}

/** Uses a live link: one atomic UPDATE, so a link signs in once whatever the concurrency. */
export async function consumeSigninLink(trx: Trx, hash: string): Promise<string | null> {
  const row = await trx
    .updateTable('console_signin_links')
    .set({ used_at: new Date() })
    .where('token_hash', '=', hash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('principal_id')
    .executeTakeFirst();
  return row?.principal_id ?? null;
}

export async function insertSession(
  db: Db | Trx,
  s: { id: string; principalId: string; tokenHash: string; method: 'email_link' | 'api_key'; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('console_sessions')
    .values({ id: s.id, principal_id: s.principalId, token_hash: s.tokenHash, method: s.method, expires_at: s.expiresAt })
    .execute();
}

/** The live session with this hash (not ended, not expired, its principal enabled) and its principal. */
export function liveSessionByHash(db: Db, hash: string) {
  return db
    .selectFrom('console_sessions')
    .innerJoin('principals', 'principals.id', 'console_sessions.principal_id')
    .select([
      'console_sessions.id as session_id',
      'console_sessions.expires_at',
      'console_sessions.method',
      'principals.id',
      'principals.name',
      'principals.email',
      'principals.roles',
      'principals.tenant_scope',
      'principals.account_tenant_id',
      'principals.account_external_id',
      'principals.person_id',
      'principals.person_confirmed_at',
    ])
    .where('console_sessions.token_hash', '=', hash)
    .where('console_sessions.ended_at', 'is', null)
    .where('console_sessions.expires_at', '>', sql<Date>`now()`)
    .where('principals.disabled_at', 'is', null)
    .executeTakeFirst();
}

/** Ends one open session; false when it had ended already. */
export async function endSession(db: Db, id: string, reason: string): Promise<boolean> {
  const row = await db
    .updateTable('console_sessions')
    .set({ ended_at: new Date(), ended_reason: reason })
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

/** Ends every open, unexpired session of a principal; returns their ids. */
export async function endPrincipalSessions(db: Db, principalId: string, reason: string): Promise<string[]> {
  const rows = await db
    .updateTable('console_sessions')
    .set({ ended_at: new Date(), ended_reason: reason })
    .where('principal_id', '=', principalId)
    .where('ended_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}
