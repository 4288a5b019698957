// Approver contact addresses (approval requests, reminders, decisions) and staged MFA factors.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('principals').addColumn('email', 'text').execute();
  await db.schema.alterTable('mfa_factors').addColumn('enrolled_via', 'text').execute();
  await sql`create index principals_roles_idx on principals using gin (roles)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists principals_roles_idx`.execute(db);
  await db.schema.alterTable('mfa_factors').dropColumn('enrolled_via').execute();
  await db.schema.alterTable('principals').dropColumn('email').execute();
}
