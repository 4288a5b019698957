// What tests, drills and benchmarks read from Postgres to check the engine's work: recoveries and
// grants, their links, credentials and mail, and the directory's accounts, factors and sessions.
// Reads only (faults.ts writes); where store/ has the exact read, these call it.
import { sql } from 'kysely';
import type { Db } from '../store/db';
import { getGrant } from '../store/grants';
import { getRecovery } from '../store/recoveries';
import { getTenant } from '../store/tenants';

/** The row a read found; throws, as executeTakeFirstOrThrow does, when there is none. */
export function found<T>(row: T | null | undefined, what: string): T {
  if (row === undefined || row === null) throw new Error(`no ${what} in the database`);
  return row;
}

// Recoveries and grants (a "case" is either: the audit log and the tokens key both by its id).

/** A recovery's read-model row; throws if there is none. */
export async function recoveryRow(db: Db, id: string) {
  return found(await getRecovery(db, id), `recovery ${id}`);
}

/** A tenant's recoveries, or one account's (no order). */
export function recoveriesOf(db: Db, tenantId: string, accountId?: string) {
  let q = db.selectFrom('recoveries').selectAll().where('tenant_id', '=', tenantId);
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.execute();
}

/** The recoveries with these ids (none for an empty list). */
export async function recoveriesWithIds(db: Db, ids: readonly string[]) {
  if (!ids.length) return [];
  return db.selectFrom('recoveries').selectAll().where('id', 'in', ids).execute();
}

/** Every recovery whose run is known (its first transition was recorded): workflow id and run id. */
export function recoveryRuns(db: Db) {
  return db.selectFrom('recoveries').select(['workflow_id', 'run_id']).where('run_id', 'is not', null).execute();
}

/** A tenant's emergency-access grants (no order). */
export function grantsOf(db: Db, tenantId: string) {
  return db.selectFrom('access_grants').selectAll().where('tenant_id', '=', tenantId).execute();
}

/** An emergency-access grant's row; throws if there is none. */
export async function grantRow(db: Db, id: string) {
  return found(await getGrant(db, id), `grant ${id}`);
}

/** A grant's credentials (the engine issues at most one). */
export function credentialsOf(db: Db, grantId: string) {
  return db.selectFrom('access_credentials').selectAll().where('grant_id', '=', grantId).execute();
}

/** The attestations the API wrote for a recovery or grant, oldest first. */
export function attestationsOf(db: Db, caseId: string) {
  return db.selectFrom('attestations').selectAll().where('case_id', '=', caseId).orderBy('created_at').execute();
}

/** The sealed copy of a grant's credential still waiting for its one pickup, if any. */
export function credentialPickupOf(db: Db, grantId: string) {
  return db.selectFrom('credential_pickups').selectAll().where('grant_id', '=', grantId).executeTakeFirst();
}

// Single-use links.

/** A case's link tokens, oldest first; only those of one purpose if given. */
export function tokensOf(db: Db, caseId: string, purpose?: string) {
  let q = db.selectFrom('one_time_tokens').selectAll().where('recovery_id', '=', caseId);
  if (purpose !== undefined) q = q.where('purpose', '=', purpose);
  return q.orderBy('created_at').execute();
}

/** The tokens issued under one issue key (`<case>:<step>`: every attempt of one issueLink), oldest first. */
export function tokensIssuedUnder(db: Db, issueKey: string) {
  return db.selectFrom('one_time_tokens').selectAll().where('issue_key', '=', issueKey).orderBy('created_at').execute();
}

/** The link tokens of these cases (none for an empty list). */
export async function tokensOfCases(db: Db, caseIds: readonly string[]) {
  if (!caseIds.length) return [];
  return db.selectFrom('one_time_tokens').selectAll().where('recovery_id', 'in', caseIds).execute();
}

/** Every link token of a tenant. */
export function tokensOfTenant(db: Db, tenantId: string) {
  return db.selectFrom('one_time_tokens').selectAll().where('tenant_id', '=', tenantId).execute();
}

// Mail.

/** A case's email_deliveries rows; only those of one template (`link:<purpose>` or a notice) if given. */
export function deliveriesOf(db: Db, caseId: string, template?: string) {
  let q = db.selectFrom('email_deliveries').selectAll().where('recovery_id', '=', caseId);
  if (template !== undefined) q = q.where('template', '=', template);
  return q.execute();
}

/** The delivery rows with this dedupe key (`token:<id>` for a mailed link, the notice's key otherwise). */
export function deliveriesKeyed(db: Db, dedupeKey: string) {
  return db.selectFrom('email_deliveries').selectAll().where('dedupe_key', '=', dedupeKey).execute();
}

/** The delivery rows of these cases (none for an empty list). */
export async function deliveriesOfCases(db: Db, caseIds: readonly string[]) {
  if (!caseIds.length) return [];
  return db.selectFrom('email_deliveries').selectAll().where('recovery_id', 'in', caseIds).execute();
}

/** Every delivery row of a tenant. */
export function deliveriesOfTenant(db: Db, tenantId: string) {
  return db.selectFrom('email_deliveries').selectAll().where('tenant_id', '=', tenantId).execute();
}

// The directory, tenants and principals.

/** A tenant's row; throws if there is none. */
export async function tenantRow(db: Db, id: string) {
  return found(await getTenant(db, id), `tenant ${id}`);
}

/** A tenant's accounts. */
export function accountsOf(db: Db, tenantId: string) {
  return db.selectFrom('accounts').selectAll().where('tenant_id', '=', tenantId).execute();
}

/** The principal with this name, if any. */
export function principalNamed(db: Db, name: string) {
  return db.selectFrom('principals').selectAll().where('name', '=', name).executeTakeFirst();
}

/** An account's MFA factors, removed ones included. */
export function invitationRow(db: Db, id: string) {
  return db.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirst();
}

export function factorsOf(db: Db, accountUuid: string) {
  return db.selectFrom('mfa_factors').selectAll().where('account_id', '=', accountUuid).execute();
}

/** An account's MFA factors that are not removed. */
export function activeFactorsOf(db: Db, accountUuid: string) {
  return db.selectFrom('mfa_factors').selectAll().where('account_id', '=', accountUuid).where('removed_at', 'is', null).execute();
}

/** An account's sessions, revoked ones included. */
export function sessionsOf(db: Db, accountUuid: string) {
  return db.selectFrom('sessions').selectAll().where('account_id', '=', accountUuid).execute();
}

/** One session; throws if there is none. */
export async function sessionRow(db: Db, sessionId: string) {
  return found(await db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst(), `session ${sessionId}`);
}

/** An account's password credential, if it has one. */
export function passwordCredentialOf(db: Db, accountUuid: string) {
  return db.selectFrom('password_credentials').selectAll().where('account_id', '=', accountUuid).executeTakeFirst();
}

/** Who last set each password of a tenant's accounts, by external id (`recovery:<id>` for a reset). */
export function passwordChangesIn(db: Db, tenantId: string) {
  return db
    .selectFrom('password_credentials')
    .innerJoin('accounts', 'accounts.id', 'password_credentials.account_id')
    .select(['accounts.external_id', 'password_credentials.changed_by'])
    .where('accounts.tenant_id', '=', tenantId)
    .execute();
}

/** Every hash the engine keeps of a secret, in the whole database: link tokens, passwords, knowledge answers. */
export async function storedSecretHashes(db: Db): Promise<{ tokens: string[]; passwords: string[]; answers: string[] }> {
  return {
    tokens: (await db.selectFrom('one_time_tokens').select('token_hash').execute()).map((r) => r.token_hash),
    passwords: (await db.selectFrom('password_credentials').select('password_hash').execute()).map((r) => r.password_hash),
    answers: (await db.selectFrom('knowledge_factors').select('answer_hash').execute()).map((r) => r.answer_hash),
  };
}

// Everything at once.

/** Every table a request could write. */
const WRITABLE_TABLES = [
  'tenants',
  'accounts',
  'account_addresses',
  'knowledge_factors',
  'mfa_factors',
  'password_credentials',
  'sessions',
  'login_events',
  'principals',
  'recoveries',
  'one_time_tokens',
  'staged_credentials',
  'email_deliveries',
  'audit_events',
  'rate_events',
  'idempotency_keys',
  'access_grants',
  'access_credentials',
  'credential_pickups',
  'account_changes',
  'tenant_directories',
  'invitations',
] as const;

/**
 * Row counts of every table a request could write, plus consumed tokens, policies set, grants
 * ended and credentials used: two snapshots that differ mean the request wrote something. Audit
 * events of recoveries and grants that already existed are background work of their workflows,
 * not writes of the request under test, so they are left out; everything else counts.
 */
export async function rowCounts(db: Db): Promise<Record<string, number>> {
  const known = [
    ...(await db.selectFrom('recoveries').select('id').execute()).map((r) => r.id),
    ...(await db.selectFrom('access_grants').select('id').execute()).map((r) => r.id),
  ];
  const cols = WRITABLE_TABLES.map((t) =>
    t === 'audit_events' && known.length
      ? sql`(select count(*) from audit_events where recovery_id is null or recovery_id not in (${sql.join(known)}))::int as ${sql.ref(t)}`
      : sql`(select count(*) from ${sql.table(t)})::int as ${sql.ref(t)}`,
  );
  const { rows } = await sql<
    Record<string, number>
  >`select ${sql.join(cols)}, (select count(*) from one_time_tokens where used_at is not null)::int as tokens_used, (select count(*) from tenants where policy_override is not null)::int as tenant_policies, (select count(*) from access_grants where ended_at is not null)::int as grants_ended, (select count(*) from access_credentials where fetched_at is not null or revoked_at is not null)::int as credentials_used`.execute(
    db,
  );
  return rows[0];
}

/** Every stored idempotency key, as written (scope, key, request hash and stored answer). */
export function idempotencyRows(db: Db) {
  return db.selectFrom('idempotency_keys').selectAll().execute();
}

/** The scored reset requests of one account (POST /v1/risk/assess and recoveries), oldest first. */
export function riskAssessmentsOf(db: Db, tenantId: string, accountId: string) {
  return db.selectFrom('risk_assessments').selectAll().where('tenant_id', '=', tenantId).where('account_id', '=', accountId).orderBy('id').execute();
}
