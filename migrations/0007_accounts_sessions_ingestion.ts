// Issue 11 items 3-5: sessions carry their emergency credential's expiry; login events name their
// source (the ingesting principal).
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('expires_at', 'timestamptz').execute();
  // Events recorded before sources were kept say so; every new insert must name its source.
  await db.schema
    .alterTable('login_events')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('unrecorded'))
    .execute();
  await sql`alter table login_events alter column source drop default`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('expires_at').execute();
  await db.schema.alterTable('login_events').dropColumn('source').execute();
}
