// Per-tenant directory configuration: which directory a tenant's accounts live in (built-in, a
// signed webhook, Keycloak), its settings, and its secret sealed (AES-256-GCM) under a token key
// whose id is kept so the key can rotate. No row means the built-in directory.
import { Kysely, sql } from 'kysely';

/** The runtime role of 0008; its default privileges would grant DELETE too, which nothing needs. */
const RUNTIME = 'recovery_runtime';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table tenant_directories (
    tenant_id text primary key references tenants(id),
    kind text not null check (kind in ('builtin', 'webhook', 'keycloak')),
    settings jsonb not null default '{}'::jsonb,
    secret_sealed text,
    secret_key_id text,
    updated_at timestamptz not null default now(),
    updated_by text not null,
    constraint tenant_directories_secret check ((kind = 'builtin') = (secret_sealed is null) and (secret_sealed is null) = (secret_key_id is null))
  )`.execute(db);
  await sql.raw(`revoke all on tenant_directories from ${RUNTIME}`).execute(db);
  await sql.raw(`grant select, insert, update on tenant_directories to ${RUNTIME}`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists tenant_directories`.execute(db);
}
