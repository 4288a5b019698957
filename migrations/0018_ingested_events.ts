// Issue 13, events in: every behaviour event the product's backend reports (logins, uses of an
// existing session, MFA enrolments), kept once per (tenant, eventId) so a replayed batch records
// nothing twice. Logins also go on feeding login_events (Tier 2 and risk read them there).
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table ingested_events (
    tenant_id text not null references tenants (id),
    event_id text not null,
    type text not null check (type in ('login', 'session_use', 'mfa_enroll')),
    account_id uuid not null references accounts (id),
    at timestamptz not null,
    ip text not null,
    device_id text,
    user_agent text,
    session_id text,
    outcome text check (outcome in ('success', 'failure')),
    geo jsonb,
    source text not null,
    received_at timestamptz not null default now(),
    primary key (tenant_id, event_id)
  )`.execute(db);
  await sql`create index ingested_events_account_at on ingested_events (account_id, type, at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table ingested_events`.execute(db);
}
