// Issue 11 items 3-5: admin changes of existing accounts (applied and notified by a workflow);
// sessions carry their emergency credential's expiry; login events name their source.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The change waits here (knowledge answers already hashed) until its workflow applies it and
  // tells every address it had before and has after.
  await db.schema
    .createTable('account_changes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('change', 'jsonb', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending','applied','failed','not_started')`))
    .addColumn('addresses_before', 'jsonb')
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('applied_at', 'timestamptz')
    .addColumn('notified_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('account_changes_account_idx').on('account_changes').columns(['tenant_id', 'account_id', 'created_at']).execute();

  await db.schema.alterTable('sessions').addColumn('expires_at', 'timestamptz').execute();
  // Events recorded before sources were kept say so; every new insert must name its source.
  await db.schema
    .alterTable('login_events')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('unrecorded'))
    .execute();
  await sql`alter table login_events alter column source drop default`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('account_changes').ifExists().execute();
  await db.schema.alterTable('sessions').dropColumn('expires_at').execute();
  await db.schema.alterTable('login_events').dropColumn('source').execute();
}
