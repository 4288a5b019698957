// Single-use link tokens (stored as HMACs only) and the new passwords staged by a redeemed link.
// The only owner of `one_time_tokens` and `staged_credentials`.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';

type Trx = Transaction<Database>;

/**
 * Before (re-)issuing a link: returns the token of an earlier attempt that went out, i.e. it is
 * recorded as mailed, or it has been used, which proves it arrived although the attempt died
 * before recording the send. Otherwise invalidates every earlier unsent token. The row locks
 * make this atomic with a concurrent redemption: either the owner's click wins (and that token
 * is returned) or the supersede does (and the click gets link_invalid).
 */
export async function settlePriorTokens(db: Db, issueKey: string) {
  return db.transaction().execute(async (trx) => {
    const prior = await trx
      .selectFrom('one_time_tokens')
      .select(['id', 'expires_at', 'mail_sent_at', 'used_at'])
      .where('issue_key', '=', issueKey)
      .orderBy('created_at', 'desc')
      .forUpdate()
      .execute();
    const out = prior.find((t) => t.mail_sent_at !== null || t.used_at !== null);
    if (out) return out;
    await trx
      .updateTable('one_time_tokens')
      .set({ invalidated_at: new Date(), invalidated_reason: 'superseded_before_send' })
      .where('issue_key', '=', issueKey)
      .where('invalidated_at', 'is', null)
      .where('used_at', 'is', null)
      .execute();
    return null;
  });
}

export interface NewTokenRow {
  tenantId: string;
  accountId: string;
  recoveryId: string;
  workflowId: string;
  purpose: string;
  issueKey: string;
  keyId: string;
  tokenHash: string;
  expiresAt: Date;
}

const tokenValues = (t: NewTokenRow) => ({
  tenant_id: t.tenantId,
  account_id: t.accountId,
  recovery_id: t.recoveryId,
  workflow_id: t.workflowId,
  purpose: t.purpose,
  issue_key: t.issueKey,
  key_id: t.keyId,
  token_hash: t.tokenHash,
  expires_at: t.expiresAt,
});

export async function insertToken(db: Db, t: NewTokenRow): Promise<string> {
  const row = await db.insertInto('one_time_tokens').values(tokenValues(t)).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Inserts a link that replaces the earlier links of its purpose for the case, at most `cap` of
 * them (issues are counted by issue key, so a retry of one issue counts once). Under a per-case
 * lock: null past the cap (nothing changes), otherwise every earlier unused link of the purpose
 * ends, then the new one is inserted. The row updates race a redemption safely: the click either
 * used its link first or finds it invalidated.
 */
export async function insertReplacingToken(db: Db, t: NewTokenRow, cap: number): Promise<string | null> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`links:${t.recoveryId}:${t.purpose}`}))`.execute(trx);
    const issued = await trx
      .selectFrom('one_time_tokens')
      .select(sql<string>`count(distinct issue_key)`.as('n'))
      .where('recovery_id', '=', t.recoveryId)
      .where('purpose', '=', t.purpose)
      .where('issue_key', '!=', t.issueKey)
      .executeTakeFirstOrThrow();
    if (Number(issued.n) >= cap) return null;
    await trx
      .updateTable('one_time_tokens')
      .set({ invalidated_at: new Date(), invalidated_reason: 'superseded' })
      .where('recovery_id', '=', t.recoveryId)
      .where('purpose', '=', t.purpose)
      .where('invalidated_at', 'is', null)
      .where('used_at', 'is', null)
      .execute();
    const row = await trx.insertInto('one_time_tokens').values(tokenValues(t)).returning('id').executeTakeFirstOrThrow();
    return row.id;
  });
}

export async function markTokenMailed(trx: Trx, tokenId: string): Promise<void> {
  await trx.updateTable('one_time_tokens').set({ mail_sent_at: new Date() }).where('id', '=', tokenId).where('mail_sent_at', 'is', null).execute();
}

/** Ends a token that has not been used (TTL reached, recovery cancelled). */
export async function invalidateUnusedToken(db: Db, tokenId: string, reason: string): Promise<void> {
  await db
    .updateTable('one_time_tokens')
    .set({ invalidated_at: new Date(), invalidated_reason: reason })
    .where('id', '=', tokenId)
    .where('invalidated_at', 'is', null)
    .where('used_at', 'is', null)
    .execute();
}

/** A token whose mail did not go out is dead at once, whatever else happened to it. */
export async function invalidateUndelivered(db: Db, tokenId: string, reason: 'delivery_failed' | 'delivery_deferred'): Promise<void> {
  await db.updateTable('one_time_tokens').set({ invalidated_at: new Date(), invalidated_reason: reason }).where('id', '=', tokenId).execute();
}

/**
 * Whether a token is used for this workflow. FOR SHARE waits for a redeeming transaction that is
 * still open, so a redemption whose COMMIT fails reads as unused.
 */
export function tokenUsedFor(db: Db, tokenId: string, workflowId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const t = await trx.selectFrom('one_time_tokens').select(['used_at', 'workflow_id']).where('id', '=', tokenId).forShare().executeTakeFirst();
    return !!t && t.used_at !== null && t.workflow_id === workflowId;
  });
}

/** The token with this HMAC, and whether it is live (unused, valid, unexpired). */
export function tokenByHash(db: Db, hash: string) {
  return db
    .selectFrom('one_time_tokens')
    .selectAll()
    .select(sql<boolean>`(used_at is null and invalidated_at is null and expires_at > now())`.as('live'))
    .where('token_hash', '=', hash)
    .executeTakeFirst();
}

/** Uses a live token: one atomic UPDATE, so a token is used once whatever the concurrency. */
export function consumeToken(trx: Trx, tokenId: string) {
  return trx
    .updateTable('one_time_tokens')
    .set({ used_at: new Date() })
    .where('id', '=', tokenId)
    .where('used_at', 'is', null)
    .where('invalidated_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['id', 'workflow_id', 'recovery_id'])
    .executeTakeFirst();
}

/** The purpose a staged password is sealed under: it opens for this link only. */
export const stagedPasswordPurpose = (tokenId: string) => `staged-password:${tokenId}`;

/** A new password as staged: an argon2id hash (built-in directory) or sealed under a token key (remote). */
export type StagedForm = { hash: string } | { sealed: string; keyId: string };

export async function stagePassword(trx: Trx, tokenId: string, form: StagedForm): Promise<void> {
  const values =
    'hash' in form
      ? { token_id: tokenId, password_hash: form.hash, password_sealed: null, password_key_id: null }
      : { token_id: tokenId, password_hash: '', password_sealed: form.sealed, password_key_id: form.keyId };
  await trx.insertInto('staged_credentials').values(values).execute();
}

/** The password staged by a used link, with the token's binding. */
export function stagedPassword(db: Db, tokenId: string) {
  return db
    .selectFrom('staged_credentials')
    .innerJoin('one_time_tokens', 'one_time_tokens.id', 'staged_credentials.token_id')
    .select([
      'staged_credentials.password_hash',
      'staged_credentials.password_sealed',
      'staged_credentials.password_key_id',
      'staged_credentials.applied_at',
      'one_time_tokens.tenant_id',
      'one_time_tokens.account_id',
      'one_time_tokens.recovery_id',
      'one_time_tokens.used_at',
    ])
    .where('staged_credentials.token_id', '=', tokenId)
    .executeTakeFirst();
}

/** A staged password the directory refused for good: destroyed, never applied (the recovery fails). */
export async function discardStaged(db: Db, tokenId: string): Promise<void> {
  await db
    .updateTable('staged_credentials')
    .set({ password_hash: '', password_sealed: null, password_key_id: null })
    .where('token_id', '=', tokenId)
    .where('applied_at', 'is', null)
    .execute();
}

/** Once applied, the staged copy is destroyed in either form: only the directory keeps the password. */
export async function markStagedApplied(trx: Trx, tokenId: string): Promise<void> {
  await trx
    .updateTable('staged_credentials')
    .set({ applied_at: new Date(), password_hash: '', password_sealed: null, password_key_id: null })
    .where('token_id', '=', tokenId)
    .where('applied_at', 'is', null)
    .execute();
}

/** A case's links as evidence: what each was for and when it was issued, mailed, used or voided; never the token or its hash. */
export function caseTokens(db: Db, caseId: string) {
  return db
    .selectFrom('one_time_tokens')
    .select(['id', 'purpose', 'created_at', 'expires_at', 'mail_sent_at', 'used_at', 'invalidated_at', 'invalidated_reason'])
    .where('recovery_id', '=', caseId)
    .orderBy('created_at')
    .execute();
}
