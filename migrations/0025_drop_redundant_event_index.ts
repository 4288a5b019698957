// ingested_events (account_id, type, at) no longer serves a read: an account's history scans
// (account_id, at) (0021, account_history in 0024), the logins that issued sessions use the
// partial (account_id, session_id) index (0023), and duplicates the primary key. Each batch paid
// for its upkeep: a bulk insert without it is about a tenth faster.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index ingested_events_account_at`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index ingested_events_account_at on ingested_events (account_id, type, at)`.execute(db);
}
