// Issue 15: people sign in to the engine (an emailed single-use link, or outside production the
// API key pasted once) for a session cookie the codec endpoint accepts, so the Temporal Web UI can
// show decoded payloads. Links keep only the HMAC of their token, sessions only the SHA-256 of the
// cookie's value (256 random bits, like an API key).
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('console_signin_links')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('console_signin_links_principal_idx').on('console_signin_links').column('principal_id').execute();

  await db.schema
    .createTable('console_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // How the person signed in: `email_link` or `api_key`.
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    // `signed_out`, or `revoked:<principal id>` when an admin ended it.
    .addColumn('ended_reason', 'text')
    .execute();
  await db.schema.createIndex('console_sessions_principal_idx').on('console_sessions').column('principal_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('console_sessions').ifExists().execute();
  await db.schema.dropTable('console_signin_links').ifExists().execute();
}
