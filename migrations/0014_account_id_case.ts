// Issue 16 item 4: account external ids are unique case-insensitively within a tenant unless the
// tenant opted into case-sensitive ids. Tenants that already hold case-only duplicates are opted
// in here (their ids stay as they are, and keep working), so the migration never fails on data.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table tenants add column case_sensitive_account_ids boolean not null default false`.execute(db);
  await sql`update tenants set case_sensitive_account_ids = true
            where id in (select tenant_id from accounts group by tenant_id, lower(external_id) having count(*) > 1)`.execute(db);
  // The tenant's choice, copied onto each account: a partial unique index cannot look at tenants.
  await sql`alter table accounts add column case_sensitive_id boolean not null default false`.execute(db);
  await sql`update accounts a set case_sensitive_id = true from tenants t where t.id = a.tenant_id and t.case_sensitive_account_ids`.execute(db);
  await sql`create unique index accounts_tenant_external_ci_uq on accounts (tenant_id, lower(external_id)) where not case_sensitive_id`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index accounts_tenant_external_ci_uq`.execute(db);
  await sql`alter table accounts drop column case_sensitive_id`.execute(db);
  await sql`alter table tenants drop column case_sensitive_account_ids`.execute(db);
}
