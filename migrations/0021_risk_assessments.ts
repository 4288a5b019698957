// Risk engine (issue: behaviour signals): every scored reset request is kept (the per-account,
// per-IP, per-device and per-tenant reset rates read it, as of any time), a tenant's reset storms
// have a start and an end, and the account's event history is read newest first in one index scan.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table risk_assessments (
    id bigserial primary key,
    tenant_id text not null references tenants (id),
    account_id text not null,
    kind text not null,
    at timestamptz not null,
    ip text not null,
    device_id text,
    score integer not null,
    tier text not null check (tier in ('low', 'medium', 'high')),
    signals jsonb not null,
    source text not null,
    created_at timestamptz not null default now()
  )`.execute(db);
  // A recovery's assessment is recorded once, whatever its activity's retries.
  await sql`create unique index risk_assessments_recovery on risk_assessments (source) where source <> 'assess'`.execute(db);
  await sql`create index risk_assessments_tenant_at on risk_assessments (tenant_id, at)`.execute(db);
  await sql`create index risk_assessments_account_at on risk_assessments (tenant_id, account_id, at)`.execute(db);
  await sql`create index risk_assessments_ip_at on risk_assessments (tenant_id, ip, at)`.execute(db);
  await sql`create index risk_assessments_device_at on risk_assessments (tenant_id, device_id, at) where device_id is not null`.execute(db);

  await sql`create table risk_storms (
    id bigserial primary key,
    tenant_id text not null references tenants (id),
    started_at timestamptz not null,
    ended_at timestamptz,
    peak_per_hour integer not null,
    baseline_per_hour double precision not null
  )`.execute(db);
  await sql`create unique index risk_storms_open on risk_storms (tenant_id) where ended_at is null`.execute(db);

  // History as of a time: every event type of one account, newest first.
  await sql`create index ingested_events_account_at_all on ingested_events (account_id, at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index ingested_events_account_at_all`.execute(db);
  await sql`drop table risk_storms`.execute(db);
  await sql`drop table risk_assessments`.execute(db);
}
