// Persons (one per normalised email), the single-use links that confirm a principal's binding to
// its person (stored as HMACs only, like every link), and the per-case decision claims that let a
// person decide a case once whatever key they use. The only owner of `persons`,
// `person_verifications` and `decision_claims`.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';
import { normaliseEmail } from '../domain/person';
import { newId } from '../infra/secrets';

type Trx = Transaction<Database>;

/** The person of an address, created on first use. */
export async function personForEmail(trx: Trx, email: string): Promise<string> {
  const normal = normaliseEmail(email);
  await trx
    .insertInto('persons')
    .values({ id: newId('psn'), email: normal })
    .onConflict((oc) => oc.column('email').doNothing())
    .execute();
  const row = await trx.selectFrom('persons').select('id').where('email', '=', normal).executeTakeFirstOrThrow();
  return row.id;
}

export function personById(db: Db, id: string) {
  return db.selectFrom('persons').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A new verification link for a principal's binding; earlier unused ones stop working. */
export async function insertVerification(
  trx: Trx,
  v: { personId: string; principalId: string; keyId: string; tokenHash: string; expiresAt: Date },
): Promise<string> {
  await trx
    .updateTable('person_verifications')
    .set({ invalidated_at: new Date() })
    .where('principal_id', '=', v.principalId)
    .where('used_at', 'is', null)
    .where('invalidated_at', 'is', null)
    .execute();
  const row = await trx
    .insertInto('person_verifications')
    .values({ person_id: v.personId, principal_id: v.principalId, key_id: v.keyId, token_hash: v.tokenHash, expires_at: v.expiresAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Ends every unused verification link of a principal (its key was rotated or it was disabled). */
export async function invalidateVerifications(trx: Trx, principalId: string): Promise<void> {
  await trx
    .updateTable('person_verifications')
    .set({ invalidated_at: new Date() })
    .where('principal_id', '=', principalId)
    .where('used_at', 'is', null)
    .where('invalidated_at', 'is', null)
    .execute();
}

/** The verification link with this HMAC, if any (live or not: the caller answers alike). */
export function verificationByHash(db: Db, hash: string) {
  return db.selectFrom('person_verifications').selectAll().where('token_hash', '=', hash).executeTakeFirst();
}

/** Uses a live link: one atomic UPDATE, so it is used once whatever the concurrency. */
export function consumeVerification(trx: Trx, id: string) {
  return trx
    .updateTable('person_verifications')
    .set({ used_at: new Date() })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('invalidated_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['id', 'person_id', 'principal_id'])
    .executeTakeFirst();
}

export async function markPersonVerified(trx: Trx, personId: string): Promise<void> {
  await trx.updateTable('persons').set({ verified_at: new Date() }).where('id', '=', personId).where('verified_at', 'is', null).execute();
}

/**
 * Claims a case's decision for a person; returns the principal holding the claim. Atomic: of two
 * keys of one person deciding at once, one holds it and the other sees it.
 */
export async function claimDecision(db: Db, c: { caseId: string; personId: string; principalId: string }): Promise<string> {
  await db
    .insertInto('decision_claims')
    .values({ case_id: c.caseId, person_id: c.personId, principal_id: c.principalId })
    .onConflict((oc) => oc.columns(['case_id', 'person_id']).doNothing())
    .execute();
  const row = await db
    .selectFrom('decision_claims')
    .select('principal_id')
    .where('case_id', '=', c.caseId)
    .where('person_id', '=', c.personId)
    .executeTakeFirstOrThrow();
  return row.principal_id;
}

/** The persons who decided a case through the API, each with the key they decided with. */
export async function decisionClaims(db: Db, caseId: string): Promise<{ personId: string; principalId: string }[]> {
  const rows = await db.selectFrom('decision_claims').select(['person_id', 'principal_id']).where('case_id', '=', caseId).execute();
  return rows.map((r) => ({ personId: r.person_id, principalId: r.principal_id }));
}
