// The built-in directory: accounts, addresses, knowledge factors, argon2id password credentials
// and login history, all in Postgres (sessions: store/sessions.ts; MFA factors:
// store/mfa-factors.ts). The only owner of those tables; store/builtin-directory.ts puts them
// behind the Directory port (domain/directory.ts).
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';
import { constantTimeEqualHex, hashPassword, knowledgeHash, verifyPassword } from '../infra/secrets';
import { AccountIdCaseClashError, type AccountRef, type KnowledgeCheck } from '../domain/directory';
import type { AccountAuthMethod, AccountRole } from '../domain/types';
import { insertImportedFactors } from './mfa-factors';
import { accountIdsCaseSensitive } from './tenants';

export interface ImportedAccount {
  externalId: string;
  displayName?: string;
  role: AccountRole;
  authMethod: AccountAuthMethod;
  emails: string[];
  knowledge?: Record<string, string>;
  password?: string;
  mfaFactors?: { type: 'totp' | 'webauthn' | 'sms'; label?: string }[];
}

export async function findAccount(db: Db, tenantId: string, externalId: string) {
  return db.selectFrom('accounts').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
}

/** The unique index on (tenant_id, lower(external_id)) of tenants with case-insensitive ids (migration 0014). */
const CASE_INDEX = 'accounts_tenant_external_ci_uq';
const isCaseClash = (err: unknown) => {
  const e = err as { code?: string; constraint?: string } | undefined;
  return e?.code === '23505' && e.constraint === CASE_INDEX;
};

/** The first of `ids` that differs only in case from a stored id or from one earlier in the list. */
async function firstCaseClash(trx: Transaction<Database>, tenantId: string, ids: string[]): Promise<{ index: number; existing: string } | null> {
  const stored = await trx
    .selectFrom('accounts')
    .select('external_id')
    .where('tenant_id', '=', tenantId)
    .where('case_sensitive_id', '=', false)
    .where(sql<string>`lower(external_id)`, 'in', [...new Set(ids.map((id) => id.toLowerCase()))])
    .execute();
  const seen = new Map(stored.map((r) => [r.external_id.toLowerCase(), r.external_id]));
  for (const [index, id] of ids.entries()) {
    const other = seen.get(id.toLowerCase());
    if (other !== undefined && other !== id) return { index, existing: other };
    seen.set(id.toLowerCase(), id);
  }
  return null;
}

/**
 * Creates accounts; never changes one. An external id that exists already (or is created by a
 * concurrent import first) is skipped and listed in `existing`: an import is no way to replace an
 * account's addresses, answers or password. Plain knowledge answers and passwords are hashed here
 * and dropped. `record` runs inside the import's transaction (the audit event of the import).
 * Unless the tenant opted into case-sensitive ids, an id differing from another only in case
 * refuses the whole import (AccountIdCaseClashError), whether stored already or in the same import.
 */
export async function importAccounts(
  db: Db,
  knowledgeKey: Buffer,
  tenantId: string,
  accounts: ImportedAccount[],
  record?: (trx: Transaction<Database>, result: { created: number; existing: string[] }) => Promise<unknown>,
) {
  // Hash outside the transaction: argon2 is slow and must not hold a connection.
  const prepared = await Promise.all(accounts.map(async (a) => ({ a, passwordHash: a.password ? await hashPassword(a.password) : null })));
  return db.transaction().execute(async (trx) => {
    const caseSensitive = await accountIdsCaseSensitive(trx, tenantId);
    if (!caseSensitive) {
      const clash = await firstCaseClash(
        trx,
        tenantId,
        accounts.map((a) => a.externalId),
      );
      if (clash) throw new AccountIdCaseClashError(`accounts.${clash.index}.externalId`, accounts[clash.index].externalId, clash.existing);
    }
    let created = 0;
    const existing: string[] = [];
    for (const [i, { a, passwordHash }] of prepared.entries()) {
      const values = {
        tenant_id: tenantId,
        external_id: a.externalId,
        case_sensitive_id: caseSensitive,
        display_name: a.displayName ?? null,
        role: a.role,
        auth_method: a.authMethod,
      };
      // A concurrent import may have created a case variant since the check above: the index refuses it.
      const row = await trx
        .insertInto('accounts')
        .values(values)
        .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doNothing())
        .returning('id')
        .executeTakeFirst()
        .catch((err: unknown) => {
          throw isCaseClash(err) ? new AccountIdCaseClashError(`accounts.${i}.externalId`, a.externalId, null) : err;
        });
      if (!row) {
        existing.push(a.externalId);
        continue;
      }
      created++;
      await trx
        .insertInto('account_addresses')
        .values(a.emails.map((email, i) => ({ account_id: row.id, email, is_primary: i === 0 })))
        .execute();
      if (a.knowledge) await replaceKnowledge(trx, row.id, knowledgeHashes(knowledgeKey, { tenantId, accountId: a.externalId }, a.knowledge));
      // The schema refuses a password for an SSO-managed account; checked again where it is written.
      if (passwordHash && a.authMethod === 'local') {
        await trx.insertInto('password_credentials').values({ account_id: row.id, password_hash: passwordHash, changed_by: 'import' }).execute();
      }
      if (a.mfaFactors?.length) await insertImportedFactors(trx, row.id, a.mfaFactors);
    }
    if (record) await record(trx, { created, existing });
    return { created, existing };
  });
}

/** Replaces the account's knowledge factors with these answer hashes (by factor name). */
async function replaceKnowledge(trx: Transaction<Database>, accountUuid: string, hashes: Record<string, string>) {
  await trx.deleteFrom('knowledge_factors').where('account_id', '=', accountUuid).execute();
  const entries = Object.entries(hashes);
  if (!entries.length) return;
  await trx
    .insertInto('knowledge_factors')
    .values(entries.map(([name, answer_hash]) => ({ account_id: accountUuid, name, answer_hash })))
    .execute();
}

/** Knowledge answers hashed as they are stored: keyed, bound to the tenant, account and factor. */
export function knowledgeHashes(knowledgeKey: Buffer, ref: AccountRef, answers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(answers).map(([name, answer]) => [name, knowledgeHash(knowledgeKey, ref.tenantId, ref.accountId, name, answer)]));
}

/** What an admin may change on an existing account (never a password, factor or sign-in method). */
export interface AccountChangeSet {
  emails?: string[];
  /** Knowledge answers as stored (see knowledgeHashes): they replace the whole set. */
  knowledgeHashes?: Record<string, string>;
  role?: AccountRole;
  displayName?: string;
}

/**
 * Applies an admin change under the account's row lock and returns the addresses it had before
 * (null: no such account). Runs in the caller's transaction, with the change's own bookkeeping.
 */
export async function changeAccount(trx: Transaction<Database>, ref: AccountRef, c: AccountChangeSet): Promise<{ before: string[] } | null> {
  const acct = await trx
    .selectFrom('accounts')
    .select('id')
    .where('tenant_id', '=', ref.tenantId)
    .where('external_id', '=', ref.accountId)
    .forUpdate()
    .executeTakeFirst();
  if (!acct) return null;
  const before = (await trx.selectFrom('account_addresses').select('email').where('account_id', '=', acct.id).orderBy('created_at').execute()).map(
    (r) => r.email,
  );
  if (c.emails) {
    await trx.deleteFrom('account_addresses').where('account_id', '=', acct.id).execute();
    await trx
      .insertInto('account_addresses')
      .values(c.emails.map((email, i) => ({ account_id: acct.id, email, is_primary: i === 0 })))
      .execute();
  }
  if (c.knowledgeHashes) await replaceKnowledge(trx, acct.id, c.knowledgeHashes);
  if (c.role !== undefined || c.displayName !== undefined) {
    await trx
      .updateTable('accounts')
      .set({
        ...(c.role !== undefined ? { role: c.role } : {}),
        ...(c.displayName !== undefined ? { display_name: c.displayName } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', acct.id)
      .execute();
  }
  return { before };
}

export async function registeredAddresses(db: Db, accountUuid: string): Promise<{ email: string; isPrimary: boolean }[]> {
  const rows = await db
    .selectFrom('account_addresses')
    .select(['email', 'is_primary'])
    .where('account_id', '=', accountUuid)
    .where('verified', '=', true)
    .orderBy('is_primary', 'desc')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ email: r.email, isPrimary: r.is_primary }));
}

/**
 * Tier 1: every required factor (null: every enrolled one) answered, every answer of an enrolled
 * factor and matching; comparison in constant time. A subset of the factors never passes.
 */
export async function checkKnowledge(
  db: Db,
  knowledgeKey: Buffer,
  ref: AccountRef,
  answers: Record<string, string>,
  required: readonly string[] | null,
): Promise<KnowledgeCheck> {
  const { tenantId, accountId: externalId } = ref;
  const acct = await findAccount(db, tenantId, externalId);
  const stored = acct ? await db.selectFrom('knowledge_factors').select(['name', 'answer_hash']).where('account_id', '=', acct.id).execute() : [];
  const byName = new Map(stored.map((s) => [s.name, s.answer_hash]));
  const needed = required ?? [...byName.keys()];
  const missing = needed.filter((name) => !Object.hasOwn(answers, name)).sort();
  // Refused before any comparison: a partial submission learns nothing about the answers it holds.
  if (missing.length) return { passed: false, factorsChecked: 0, missing };
  // No factor required (none enrolled) never passes.
  let allMatch = needed.length > 0 && Object.keys(answers).length > 0;
  for (const [name, answer] of Object.entries(answers)) {
    const expected = byName.get(name) ?? '0'.repeat(64);
    const ok = constantTimeEqualHex(knowledgeHash(knowledgeKey, tenantId, externalId, name, answer), expected);
    allMatch = allMatch && ok && byName.has(name);
  }
  return { passed: allMatch, factorsChecked: Object.keys(answers).length, missing: [] };
}

/** A login as reported: `source` names who reported it (`principal:<id>` of an ingestion key). */
export interface LoginReport {
  at: Date;
  ip: string;
  deviceId?: string;
  country?: string;
  asn?: number;
  lat?: number;
  lon?: number;
  success: boolean;
  source: string;
  /** The product found the password on a breached or common list. */
  passwordCompromised?: boolean;
}

/** Records one login event. */
export async function recordLogin(db: Db, accountUuid: string, e: LoginReport) {
  await db.transaction().execute((trx) => recordLoginsTx(trx, [{ accountUuid, ...e }]));
}

export async function loginHistory(db: Db, accountUuid: string, limit = 100) {
  return db.selectFrom('login_events').selectAll().where('account_id', '=', accountUuid).orderBy('at', 'desc').limit(limit).execute();
}

/** The directory's credential check, so tests and connectors can prove a change took effect. */
export async function checkPassword(db: Db, tenantId: string, externalId: string, password: string): Promise<boolean> {
  const acct = await findAccount(db, tenantId, externalId);
  const cred = acct ? await db.selectFrom('password_credentials').select('password_hash').where('account_id', '=', acct.id).executeTakeFirst() : undefined;
  if (!cred) return false;
  return verifyPassword(cred.password_hash, password);
}

/** What a password sign-in decides on, in one read: the account, its state and its password hash. */
export function passwordSignInFacts(db: Db, tenantId: string, externalId: string) {
  return db
    .selectFrom('accounts as a')
    .leftJoin('password_credentials as pc', 'pc.account_id', 'a.id')
    .select(['a.id', 'a.auth_method', 'a.status', 'pc.password_hash'])
    .where('a.tenant_id', '=', tenantId)
    .where('a.external_id', '=', externalId)
    .executeTakeFirst();
}

export async function accountUuid(db: Db, ref: AccountRef): Promise<string | null> {
  const a = await findAccount(db, ref.tenantId, ref.accountId);
  return a?.id ?? null;
}

/** Sets the account's password credential (an argon2id hash); a retry writes the same hash again. */
export async function setPasswordHash(db: Db, accountUuid: string, hash: string, changedBy: string): Promise<void> {
  await db
    .insertInto('password_credentials')
    .values({ account_id: accountUuid, password_hash: hash, changed_by: changedBy })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ password_hash: hash, changed_at: new Date(), changed_by: changedBy }))
    .execute();
}

/** Who last changed the account's password credential; null when it has none (SSO-managed). */
export async function passwordChangedBy(db: Db, accountUuid: string): Promise<string | null> {
  const row = await db.selectFrom('password_credentials').select(['changed_by']).where('account_id', '=', accountUuid).executeTakeFirst();
  return row ? row.changed_by : null;
}

/** The account's recent login history (newest first), by tenant and external id. */
export async function loginHistoryOf(db: Db, ref: AccountRef, limit = 100) {
  const id = await accountUuid(db, ref);
  return id ? loginHistory(db, id, limit) : [];
}

/**
 * What the engine itself knows of an account's activity, whichever directory holds it: failed
 * verifications in a row (NIST SP 800-63B-4's limit) and the last successful login it was told of.
 */
export async function accountActivity(db: Db, ref: AccountRef): Promise<{ consecutiveFailures: number; lastLoginAt: Date | null }> {
  const a = await findAccount(db, ref.tenantId, ref.accountId);
  return { consecutiveFailures: a?.consecutive_failures ?? 0, lastLoginAt: a?.last_login_at ? new Date(a.last_login_at) : null };
}

/** Counts a verification outcome: a pass resets the consecutive-failure counter. */
export async function countVerificationOutcome(trx: Transaction<Database>, ref: AccountRef, passed: boolean): Promise<void> {
  await trx
    .updateTable('accounts')
    .set({ consecutive_failures: passed ? 0 : sql`consecutive_failures + 1` })
    .where('tenant_id', '=', ref.tenantId)
    .where('external_id', '=', ref.accountId)
    .execute();
}

/** A new password ends the run of failed verifications. */
export async function resetVerificationFailures(trx: Transaction<Database>, ref: AccountRef): Promise<void> {
  await trx
    .updateTable('accounts')
    .set({ consecutive_failures: 0, updated_at: new Date() })
    .where('tenant_id', '=', ref.tenantId)
    .where('external_id', '=', ref.accountId)
    .execute();
}

/** Suspends or reactivates a built-in account (lifecycle); a deprovisioned one stays so. */
export async function setAccountActive(db: Db, accountUuid: string, active: boolean): Promise<boolean> {
  const r = await db
    .updateTable('accounts')
    .set({ status: active ? 'active' : 'suspended', updated_at: new Date() })
    .where('id', '=', accountUuid)
    .where('status', '!=', 'deprovisioned')
    .returning('status')
    .executeTakeFirst();
  return r?.status === 'active';
}

/**
 * The engine's own record of an account that lives in a remote directory: login history, failed
 * verifications and emergency sessions need a row to hang on. It mirrors role, method and state
 * as last read; it never holds a password, an address or a factor (those stay remote).
 */
export async function mirrorRemoteAccount(db: Db, ref: AccountRef, a: { role: AccountRole; authMethod: AccountAuthMethod; active: boolean }): Promise<void> {
  const values = { role: a.role, auth_method: a.authMethod, status: a.active ? 'active' : 'suspended', updated_at: new Date() } as const;
  const caseSensitive = await accountIdsCaseSensitive(db, ref.tenantId);
  await db
    .insertInto('accounts')
    .values({ tenant_id: ref.tenantId, external_id: ref.accountId, case_sensitive_id: caseSensitive, ...values })
    .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doUpdateSet(values))
    .execute()
    .catch((err: unknown) => {
      // The remote directory answered for a case variant of an account mirrored already.
      throw isCaseClash(err) ? new AccountIdCaseClashError('accountId', ref.accountId, null) : err;
    });
}

/**
 * SCIM's lifecycle on the engine's row of an account: deactivated (suspended, reversible) or
 * active again, and deleted (deprovisioned: final, a later "active" never revives it). Returns the
 * status now, or null when there is no such account.
 */
export async function setAccountLifecycle(db: Db, accountUuid: string, status: 'active' | 'suspended' | 'deprovisioned') {
  let q = db.updateTable('accounts').set({ status, updated_at: new Date() }).where('id', '=', accountUuid);
  if (status !== 'deprovisioned') q = q.where('status', '!=', 'deprovisioned');
  await q.execute();
  const r = await db.selectFrom('accounts').select('status').where('id', '=', accountUuid).executeTakeFirst();
  return r?.status ?? null;
}

/**
 * Logins reported, in the caller's transaction: login history, and the accounts' last login.
 * `ingested`: copies of logins a batch also recorded in ingested_events (the risk history reads those).
 */
export async function recordLoginsTx(trx: Transaction<Database>, logins: (LoginReport & { accountUuid: string; ingested?: boolean })[]) {
  if (!logins.length) return;
  await trx
    .insertInto('login_events')
    .values(
      logins.map((e) => ({
        account_id: e.accountUuid,
        at: e.at,
        ip: e.ip,
        device_id: e.deviceId ?? null,
        country: e.country ?? null,
        asn: e.asn ?? null,
        lat: e.lat ?? null,
        lon: e.lon ?? null,
        success: e.success,
        source: e.source,
        password_compromised: e.passwordCompromised ?? false,
        ingested: e.ingested ?? false,
      })),
    )
    .execute();
  const latest = new Map<string, Date>();
  for (const e of logins) if (e.success && (!latest.has(e.accountUuid) || latest.get(e.accountUuid)! < e.at)) latest.set(e.accountUuid, e.at);
  if (!latest.size) return;
  // Concurrent batches touch overlapping accounts: rows are locked in id order first (no
  // deadlock between two batches; NO KEY UPDATE, as the update itself takes, so the event inserts'
  // foreign-key share locks do not conflict), then one statement sets every account's last login.
  const ids = [...latest.keys()].sort();
  await trx.selectFrom('accounts').select('id').where('id', 'in', ids).orderBy('id').forNoKeyUpdate().execute();
  const values = sql.join(ids.map((id) => sql`(${id}::uuid, ${latest.get(id)!}::timestamptz)`));
  await sql`update accounts a set last_login_at = greatest(a.last_login_at, v.at)
    from (values ${values}) as v(id, at) where a.id = v.id`.execute(trx);
}

/** The engine's rows of these accounts of one tenant, by external id. */
export function accountsByExternalIds(db: Db, tenantId: string, externalIds: readonly string[]) {
  if (!externalIds.length) return Promise.resolve([]);
  return db.selectFrom('accounts').select(['id', 'external_id']).where('tenant_id', '=', tenantId).where('external_id', 'in', externalIds).execute();
}

/** Every account of a tenant as the access review reads it: status, method, last login, active MFA factors. */
export function accountsForReview(db: Db, tenantId: string) {
  return db
    .selectFrom('accounts as a')
    .select(['a.id', 'a.external_id', 'a.status', 'a.auth_method', 'a.created_at', 'a.last_login_at'])
    .select((eb) =>
      eb
        .selectFrom('mfa_factors as f')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('f.account_id', '=', 'a.id')
        .where('f.removed_at', 'is', null)
        .as('mfa_factors'),
    )
    .where('a.tenant_id', '=', tenantId)
    .orderBy('a.external_id')
    .execute();
}
