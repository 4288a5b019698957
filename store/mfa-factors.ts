// MFA factors of the engine's accounts: imported (no secret), enrolled through a recovery's link,
// enrolled and confirmed through an invitation, removed by an MFA reset; TOTP codes are checked
// against them once each (the last accepted time step is kept). The only owner of `mfa_factors`.
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';

type Trx = Transaction<Database>;

export async function insertImportedFactors(trx: Trx, accountUuid: string, factors: { type: 'totp' | 'webauthn' | 'sms'; label?: string }[]) {
  await trx
    .insertInto('mfa_factors')
    .values(factors.map((f) => ({ account_id: accountUuid, type: f.type, label: f.label ?? null, secret_enc: null, confirmed_at: new Date() })))
    .execute();
}

/** A factor enrolled through a recovery link: the enrolment requirement ends with it. */
export async function enrolFactor(trx: Trx, accountUuid: string, f: { label: string; secretSealed: string; enrolledVia: string }) {
  await trx
    .insertInto('mfa_factors')
    .values({ account_id: accountUuid, type: 'totp', label: f.label, secret_enc: f.secretSealed, enrolled_via: f.enrolledVia, confirmed_at: new Date() })
    .execute();
  await trx.updateTable('accounts').set({ mfa_enrolment_required: false, updated_at: new Date() }).where('id', '=', accountUuid).execute();
}

/** Removes every active factor except those enrolled by `keepEnrolledVia`, and requires enrolment. */
export async function removeFactorsRequireEnrolment(db: Db, accountUuid: string, keepEnrolledVia: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('mfa_factors')
      .set({ removed_at: new Date() })
      .where('account_id', '=', accountUuid)
      .where('removed_at', 'is', null)
      .where((eb) => eb.or([eb('enrolled_via', 'is', null), eb('enrolled_via', '!=', keepEnrolledVia)]))
      .executeTakeFirst();
    await trx.updateTable('accounts').set({ mfa_enrolment_required: true, updated_at: new Date() }).where('id', '=', accountUuid).execute();
    return Number(res.numUpdatedRows);
  });
}

/**
 * A TOTP factor that counts only once a code confirms it. Starting again (the secret was lost
 * before it was confirmed) replaces the unconfirmed one; a confirmed factor is never replaced here.
 */
export async function startPendingTotp(db: Db, accountUuid: string, f: { label: string; secretSealed: string; enrolledVia: string }): Promise<string | null> {
  return db.transaction().execute(async (trx) => {
    const confirmed = await trx
      .selectFrom('mfa_factors')
      .select('id')
      .where('enrolled_via', '=', f.enrolledVia)
      .where('confirmed_at', 'is not', null)
      .forUpdate()
      .executeTakeFirst();
    if (confirmed) return null;
    await trx.deleteFrom('mfa_factors').where('enrolled_via', '=', f.enrolledVia).where('confirmed_at', 'is', null).execute();
    const row = await trx
      .insertInto('mfa_factors')
      .values({ account_id: accountUuid, type: 'totp', label: f.label, secret_enc: f.secretSealed, enrolled_via: f.enrolledVia })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}

/** The factor enrolled by `enrolledVia` (e.g. an invitation), confirmed or not. */
export function factorEnrolledVia(db: Db, enrolledVia: string) {
  return db
    .selectFrom('mfa_factors')
    .select(['id', 'secret_enc', 'confirmed_at', 'last_step'])
    .where('enrolled_via', '=', enrolledVia)
    .where('removed_at', 'is', null)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

/** The account's TOTP factors that can check a code: confirmed, not removed, with a secret. */
export function liveTotpFactors(db: Db, accountUuid: string) {
  return db
    .selectFrom('mfa_factors')
    .select(['id', 'secret_enc', 'last_step'])
    .where('account_id', '=', accountUuid)
    .where('type', '=', 'totp')
    .where('removed_at', 'is', null)
    .where('confirmed_at', 'is not', null)
    .where('secret_enc', 'is not', null)
    .execute();
}

/**
 * Accepts a code's time step for a factor, once: one atomic UPDATE that only moves `last_step`
 * forward, so the same code (or an older one) never passes twice, whatever the concurrency. A
 * first accepted code confirms the factor, and the account's enrolment requirement ends.
 */
export async function acceptTotpStep(db: Db, factorId: string, step: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('mfa_factors')
      .set((eb) => ({ last_step: step, confirmed_at: eb.fn.coalesce('confirmed_at', eb.val(new Date())) }))
      .where('id', '=', factorId)
      .where('removed_at', 'is', null)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .returning('account_id')
      .executeTakeFirst();
    if (!row) return false;
    await trx.updateTable('accounts').set({ mfa_enrolment_required: false }).where('id', '=', row.account_id).execute();
    return true;
  });
}

/**
 * An invitation that ended without a password (expired, or refused by the directory) leaves no
 * factor behind: the unconfirmed one goes, a confirmed one is removed (kept as a record), so the
 * account can be invited again.
 */
export async function endFactorsEnrolledVia(db: Db, enrolledVia: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('mfa_factors').where('enrolled_via', '=', enrolledVia).where('confirmed_at', 'is', null).execute();
    await trx.updateTable('mfa_factors').set({ removed_at: new Date() }).where('enrolled_via', '=', enrolledVia).where('removed_at', 'is', null).execute();
  });
}
