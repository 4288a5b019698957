// Issue 14, deprovisioning: each tenant's identity provider calls the SCIM endpoints with a bearer
// token of the tenant's own (never an engine API key), stored as its SHA-256 only.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table scim_tokens (
    tenant_id text primary key references tenants (id),
    token_hash text not null unique,
    created_by text not null,
    created_at timestamptz not null default now()
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table scim_tokens`.execute(db);
}
