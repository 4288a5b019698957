// The scheduled access review's reports: one row per run, its findings numbered as found, and the
// outcome of the policy's action on each (keyed by that number, so a retried step finds its own).
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table access_reviews (
    id text primary key,
    tenant_id text not null references tenants (id),
    workflow_id text not null,
    actor text not null,
    as_of timestamptz not null,
    action text not null check (action in ('report', 'suspend')),
    findings jsonb not null,
    outcomes jsonb not null default '{}',
    state text not null default 'open' check (state in ('open', 'completed')),
    recipients integer,
    created_at timestamptz not null default now(),
    completed_at timestamptz
  )`.execute(db);
  await sql`create index access_reviews_tenant_created on access_reviews (tenant_id, created_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table access_reviews`.execute(db);
}
