// A login's report that its password is on a breached or common list (issue 13), kept with the
// login in both tables that hold logins, so the risk engine's `breached_password` signal reads it
// for 30 days afterwards; and the logins that issued sessions, found by session id in one index
// scan (each session use of a batch is first compared with its login), and an account's sessions
// judged possible hijacks.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ingested_events add column password_compromised boolean not null default false`.execute(db);
  await sql`alter table login_events add column password_compromised boolean not null default false`.execute(db);
  await sql`create index ingested_events_session_login on ingested_events (account_id, session_id) where type = 'login' and session_id is not null`.execute(db);
  await sql`create index risk_responses_session_hijack on risk_responses (account_uuid) where signal = 'session_hijack'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index risk_responses_session_hijack`.execute(db);
  await sql`drop index ingested_events_session_login`.execute(db);
  await sql`alter table ingested_events drop column password_compromised`.execute(db);
  await sql`alter table login_events drop column password_compromised`.execute(db);
}
