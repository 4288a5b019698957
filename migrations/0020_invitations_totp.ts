// Onboarding without SSO: an invitation per account (its workflow issues one single-use link and
// waits for registration or expiry), and TOTP factors that can verify codes: a factor counts only
// once confirmed with a code, and the last time step accepted is kept so a code works once.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('issuing','pending','registering','registered','expired','failed','not_started')`))
    .addColumn('invited_by', 'text', (c) => c.notNull())
    .addColumn('ttl_seconds', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .execute();
  // One open invitation per account.
  await sql`create unique index invitations_open_uq on invitations (tenant_id, account_id) where ended_at is null`.execute(db);
  await sql`alter table mfa_factors add column confirmed_at timestamptz, add column last_step bigint`.execute(db);
  // An invitation finds its factor by what enrolled it.
  await sql`create index mfa_factors_enrolled_via_idx on mfa_factors (enrolled_via) where enrolled_via is not null`.execute(db);
  // Factors enrolled before confirmation existed were taken as enrolled.
  await sql`update mfa_factors set confirmed_at = created_at`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index mfa_factors_enrolled_via_idx`.execute(db);
  await sql`alter table mfa_factors drop column confirmed_at, drop column last_step`.execute(db);
  await db.schema.dropTable('invitations').execute();
}
