// The migrations in order, and migrateToLatest: run by the API at start, by npm start and by npm run migrate.
import { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import * as m0001 from './0001_initial';
import * as m0002 from './0002_approvals_mfa';
import * as m0003 from './0003_break_glass';
import * as m0004 from './0004_asn_bigint';
import * as m0005 from './0005_attestations';
import * as m0006 from './0006_persons';
import * as m0007 from './0007_accounts_sessions_ingestion';
import * as m0008 from './0008_audit_roles';
import * as m0009 from './0009_pickup_key_id';
import * as m0010 from './0010_tenant_directories';
import * as m0012 from './0012_staged_password_sealed';
import * as m0014 from './0014_account_id_case';
import * as m0016 from './0016_scim_tokens';
import * as m0017 from './0017_console_sessions';
import * as m0018 from './0018_ingested_events';
import * as m0019 from './0019_access_reviews';
import * as m0020 from './0020_invitations_totp';
import * as m0021 from './0021_risk_assessments';
import * as m0022 from './0022_risk_responses';
import * as m0023 from './0023_password_compromised';
import * as m0024 from './0024_account_history';
import * as m0025 from './0025_drop_redundant_event_index';

// Listed explicitly so the bundle and tsx agree on what exists; order is by name.
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_approvals_mfa': m0002,
  '0003_break_glass': m0003,
  '0004_asn_bigint': m0004,
  '0005_attestations': m0005,
  '0006_persons': m0006,
  '0007_accounts_sessions_ingestion': m0007,
  '0008_audit_roles': m0008,
  '0009_pickup_key_id': m0009,
  '0010_tenant_directories': m0010,
  '0012_staged_password_sealed': m0012,
  '0014_account_id_case': m0014,
  '0016_scim_tokens': m0016,
  '0017_console_sessions': m0017,
  '0018_ingested_events': m0018,
  '0019_access_reviews': m0019,
  '0020_invitations_totp': m0020,
  '0021_risk_assessments': m0021,
  '0022_risk_responses': m0022,
  '0023_password_compromised': m0023,
  '0024_account_history': m0024,
  '0025_drop_redundant_event_index': m0025,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
