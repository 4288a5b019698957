// The database: its tables as Kysely types, and the connection (Kysely over node-postgres, one code
// path for real Postgres and for PGlite behind its socket). store/ is its only user with SQL.
import { Kysely, PostgresDialect, type ColumnType, type Generated, type KyselyPlugin } from 'kysely';
import pg from 'pg';
import type { Reason } from '../domain/types';
import type { HmacKey } from '../infra/config';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface TenantsTable {
  id: string;
  name: string;
  auth_mode: 'sso_enforced' | 'mixed' | 'local';
  security_contacts: Json<string[]>;
  policy_override: Json<unknown> | null;
  break_glass_account: string | null;
  /** Set at creation: account ids differing only in case are different accounts (default: refused). */
  case_sensitive_account_ids: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export interface AccountsTable {
  id: Generated<string>;
  tenant_id: string;
  external_id: string;
  /** The tenant's case_sensitive_account_ids, copied: the case-insensitive unique index skips these rows. */
  case_sensitive_id: Generated<boolean>;
  display_name: string | null;
  role: 'standard' | 'admin' | 'executive' | 'finance';
  auth_method: 'sso' | 'local';
  status: Generated<'active' | 'suspended' | 'deprovisioned'>;
  mfa_enrolment_required: Generated<boolean>;
  consecutive_failures: Generated<number>;
  last_login_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export interface AccountAddressesTable {
  id: Generated<string>;
  account_id: string;
  email: string;
  is_primary: Generated<boolean>;
  verified: Generated<boolean>;
  created_at: Generated<Date>;
}
export interface KnowledgeFactorsTable {
  account_id: string;
  name: string;
  answer_hash: string;
  created_at: Generated<Date>;
}
export interface MfaFactorsTable {
  id: Generated<string>;
  account_id: string;
  type: 'totp' | 'webauthn' | 'sms';
  label: string | null;
  secret_enc: string | null;
  created_at: Generated<Date>;
  removed_at: Timestamp | null;
  enrolled_via: string | null;
  /** Null until a code from the authenticator confirmed it: only a confirmed factor counts. */
  confirmed_at: Timestamp | null;
  /** The last TOTP time step accepted: a code of that step or an earlier one is refused. */
  last_step: number | null;
}
export interface InvitationsTable {
  id: string;
  tenant_id: string;
  account_id: string;
  workflow_id: string;
  run_id: string | null;
  state: string;
  invited_by: string;
  ttl_seconds: number;
  expires_at: Timestamp | null;
  created_at: Generated<Date>;
  ended_at: Timestamp | null;
}
export interface PasswordCredentialsTable {
  account_id: string;
  password_hash: string;
  changed_at: Generated<Date>;
  changed_by: string;
}
export interface SessionsTable {
  id: Generated<string>;
  account_id: string;
  source: Generated<string>;
  created_at: Generated<Date>;
  revoked_at: Timestamp | null;
  revoke_reason: string | null;
  /** Emergency access: the credential's expiry, past which the session is refused. Null: none. */
  expires_at: Timestamp | null;
}
export interface LoginEventsTable {
  id: Generated<string>;
  account_id: string;
  at: Timestamp;
  ip: string;
  device_id: string | null;
  country: string | null;
  asn: number | null;
  lat: number | null;
  lon: number | null;
  success: boolean;
  /** Who reported it: `principal:<id>` of an ingestion principal (`unrecorded` before 0007). */
  source: string;
  /** The login reported its password on a breached or common list (0023). */
  password_compromised: Generated<boolean>;
  /** A copy of a batch login, which ingested_events holds too (0024). */
  ingested: Generated<boolean>;
}
export interface PrincipalsTable {
  id: string;
  name: string;
  roles: string[];
  tenant_scope: string[];
  key_hash: string;
  account_tenant_id: string | null;
  account_external_id: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
  disabled_at: Timestamp | null;
  email: string | null;
  person_id: string | null;
  person_confirmed_at: Timestamp | null;
}
export interface PersonsTable {
  id: string;
  email: string;
  verified_at: Timestamp | null;
  created_at: Generated<Date>;
}
export interface PersonVerificationsTable {
  id: Generated<string>;
  person_id: string;
  principal_id: string;
  key_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  invalidated_at: Timestamp | null;
}
export interface ConsoleSigninLinksTable {
  id: Generated<string>;
  principal_id: string;
  key_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}
export interface ConsoleSessionsTable {
  id: string;
  principal_id: string;
  token_hash: string;
  method: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  ended_at: Timestamp | null;
  ended_reason: string | null;
}
export interface DecisionClaimsTable {
  case_id: string;
  person_id: string;
  principal_id: string;
  created_at: Generated<Date>;
}
export interface RecoveriesTable {
  id: string;
  tenant_id: string;
  account_id: string;
  kind: string;
  state: string;
  risk_tier: string | null;
  route: string | null;
  reasons: Json<Reason[]>;
  requested_by: string;
  reason: string;
  ticket_ref: string | null;
  error_source: string;
  urgency: string;
  context: Json<unknown>;
  workflow_id: string;
  run_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  ended_at: Timestamp | null;
}
export interface OneTimeTokensTable {
  id: Generated<string>;
  tenant_id: string;
  account_id: string;
  recovery_id: string;
  workflow_id: string;
  purpose: string;
  issue_key: string;
  key_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  mail_sent_at: Timestamp | null;
  used_at: Timestamp | null;
  invalidated_at: Timestamp | null;
  invalidated_reason: string | null;
}
export interface StagedCredentialsTable {
  token_id: string;
  password_hash: string;
  /** A password for a remote directory, sealed until applied (then null). */
  password_sealed: string | null;
  password_key_id: string | null;
  created_at: Generated<Date>;
  applied_at: Timestamp | null;
}
export interface EmailDeliveriesTable {
  id: Generated<string>;
  dedupe_key: string;
  tenant_id: string;
  recovery_id: string | null;
  template: string;
  recipients: number;
  status: string;
  message_id: string | null;
  error: string | null;
  created_at: Generated<Date>;
  sent_at: Timestamp | null;
}
export interface AuditEventsTable {
  id: Generated<string>;
  tenant_id: string;
  seq: string | number;
  event_key: string;
  at: Timestamp;
  actor: string;
  action: string;
  target: string;
  recovery_id: string | null;
  details: Json<Record<string, unknown>>;
  prev_hash: string;
  hash: string;
  /** The AUDIT_HMAC_KEYS key id of `hash`; null: an unkeyed SHA-256 event from before 0008. */
  key_id: string | null;
}
export interface IngestedEventsTable {
  tenant_id: string;
  event_id: string;
  type: 'login' | 'session_use' | 'mfa_enroll';
  account_id: string;
  at: Timestamp;
  ip: string;
  device_id: string | null;
  user_agent: string | null;
  session_id: string | null;
  outcome: 'success' | 'failure' | null;
  geo: Json<Record<string, unknown>> | null;
  source: string;
  received_at: Generated<Date>;
  /** A login that reported its password on a breached or common list (0023). */
  password_compromised: Generated<boolean>;
}
export interface RiskResponsesTable {
  id: string;
  tenant_id: string;
  account_id: string;
  account_uuid: string;
  action: 'revoke_sessions' | 'hold_enrolment' | 'force_password_change' | 'escalate';
  signal: string;
  dedupe_key: string;
  event_id: string | null;
  evidence: Json<string[]>;
  state: string;
  outcome: Json<Record<string, unknown>> | null;
  workflow_id: string;
  decided_by: string | null;
  decided_at: Timestamp | null;
  decision_reason: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export interface RiskAssessmentsTable {
  id: Generated<string>;
  tenant_id: string;
  account_id: string;
  kind: string;
  at: Timestamp;
  ip: string;
  device_id: string | null;
  score: number;
  tier: 'low' | 'medium' | 'high';
  signals: Json<unknown>;
  /** `assess` (POST /v1/risk/assess) or `recovery:<id>` (a recovery's own assessment, once). */
  source: string;
  created_at: Generated<Date>;
}
export interface RiskStormsTable {
  id: Generated<string>;
  tenant_id: string;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  peak_per_hour: number;
  baseline_per_hour: number;
}
export interface ScimTokensTable {
  tenant_id: string;
  token_hash: string;
  created_by: string;
  created_at: Generated<Date>;
}
export interface AuditHeadsTable {
  tenant_id: string;
  seq: string | number;
  hash: string;
}
export interface RateEventsTable {
  id: Generated<string>;
  bucket: string;
  key: string;
  at: Generated<Date>;
}
export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  status_code: number | null;
  response: Json<unknown> | null;
  created_at: Generated<Date>;
}

export interface AttestationsTable {
  id: string;
  kind: string;
  tenant_id: string;
  case_id: string;
  workflow_id: string;
  principal_id: string | null;
  person_id: string | null;
  facts: Json<Record<string, unknown>>;
  key_id: string;
  mac: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
  used_by: string | null;
}

export interface AccessGrantsTable {
  id: string;
  tenant_id: string;
  account_id: string;
  kind: 'break_glass' | 'sso_bypass';
  state: string;
  requested_by: string;
  justification: string;
  ticket_ref: string;
  duration_seconds: number;
  workflow_id: string;
  run_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  ended_at: Timestamp | null;
}
export interface AccessCredentialsTable {
  id: Generated<string>;
  grant_id: string;
  tenant_id: string;
  account_id: string;
  key_id: string;
  credential_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  fetched_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoke_reason: string | null;
}
export interface CredentialPickupsTable {
  grant_id: string;
  sealed: string;
  /** The token key that sealed it; null for copies sealed before key ids were kept (0009). */
  key_id: string | null;
  created_at: Generated<Date>;
}

export interface AccountChangesTable {
  id: string;
  tenant_id: string;
  account_id: string;
  requested_by: string;
  reason: string;
  change: Json<unknown>;
  state: string;
  /** The addresses the account had when the change was applied. */
  addresses_before: Json<unknown> | null;
  workflow_id: string;
  created_at: Generated<Date>;
  applied_at: Timestamp | null;
  notified_at: Timestamp | null;
}
export interface TenantDirectoriesTable {
  tenant_id: string;
  kind: 'builtin' | 'webhook' | 'keycloak';
  /** Everything but the secret. */
  settings: Json<Record<string, unknown>>;
  secret_sealed: string | null;
  secret_key_id: string | null;
  updated_at: Timestamp;
  updated_by: string;
}
export interface AccessReviewsTable {
  id: string;
  tenant_id: string;
  workflow_id: string;
  actor: string;
  as_of: Timestamp;
  action: 'report' | 'suspend';
  findings: Json<unknown[]>;
  /** Finding number -> what the action did with it. */
  outcomes: ColumnType<Record<string, unknown>, string | undefined, string>;
  state: Generated<'open' | 'completed'>;
  recipients: number | null;
  created_at: Generated<Date>;
  completed_at: Timestamp | null;
}
export interface Database {
  access_reviews: AccessReviewsTable;
  tenant_directories: TenantDirectoriesTable;
  access_grants: AccessGrantsTable;
  access_credentials: AccessCredentialsTable;
  credential_pickups: CredentialPickupsTable;
  tenants: TenantsTable;
  accounts: AccountsTable;
  account_addresses: AccountAddressesTable;
  knowledge_factors: KnowledgeFactorsTable;
  mfa_factors: MfaFactorsTable;
  invitations: InvitationsTable;
  password_credentials: PasswordCredentialsTable;
  sessions: SessionsTable;
  account_changes: AccountChangesTable;
  login_events: LoginEventsTable;
  principals: PrincipalsTable;
  persons: PersonsTable;
  person_verifications: PersonVerificationsTable;
  decision_claims: DecisionClaimsTable;
  console_signin_links: ConsoleSigninLinksTable;
  console_sessions: ConsoleSessionsTable;
  recoveries: RecoveriesTable;
  one_time_tokens: OneTimeTokensTable;
  staged_credentials: StagedCredentialsTable;
  email_deliveries: EmailDeliveriesTable;
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
  scim_tokens: ScimTokensTable;
  ingested_events: IngestedEventsTable;
  risk_responses: RiskResponsesTable;
  risk_assessments: RiskAssessmentsTable;
  risk_storms: RiskStormsTable;
  rate_events: RateEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  attestations: AttestationsTable;
}

export type Db = Kysely<Database>;

// bigint columns come back as strings by default; our counters fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Carries the audit chain's HMAC keys with a connection and every transaction opened on it (a
 * Kysely plugin travels with its executor), so each of the many places that append an event signs
 * with its process's key without handing the key down. It changes no query.
 */
class AuditKeys implements KyselyPlugin {
  constructor(readonly keys: readonly HmacKey[]) {}
  transformQuery: KyselyPlugin['transformQuery'] = (args) => args.node;
  transformResult: KyselyPlugin['transformResult'] = (args) => Promise.resolve(args.result);
}

/** The audit keys this connection (or transaction) was opened with; empty when none were given. */
export function auditKeysOf(db: Pick<Kysely<Database>, 'getExecutor'>): readonly HmacKey[] {
  return db
    .getExecutor()
    .plugins.filter((p): p is AuditKeys => p instanceof AuditKeys)
    .flatMap((p) => p.keys);
}

/** `auditKeys`: what appends to the audit chain sign with (the first); without them appends fail. */
export function createDb(url: string, poolMax = 10, o: { auditKeys?: readonly HmacKey[] } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, connectionTimeoutMillis: 5000 });
  // A client's error (e.g. Postgres restarting) must not crash the process: the pool's own
  // listener covers idle clients only, and a checked-out client emitting 'error' with no
  // listener throws. The query in flight still fails and is answered 503 or retried.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: o.auditKeys?.length ? [new AuditKeys(o.auditKeys)] : [] });
}

export const json = (v: unknown): string => JSON.stringify(v);
