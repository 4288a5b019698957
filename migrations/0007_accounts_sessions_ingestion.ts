// Issue 11 items 3-5: login events name their source (the ingesting principal).
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Events recorded before sources were kept say so; every new insert must name its source.
  await db.schema
    .alterTable('login_events')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('unrecorded'))
    .execute();
  await sql`alter table login_events alter column source drop default`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('login_events').dropColumn('source').execute();
}
