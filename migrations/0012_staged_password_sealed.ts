// A new password bound for a remote directory is staged sealed (AES-256-GCM under a token key,
// whose id is kept) instead of as an argon2id hash: the remote system hashes it itself. Either
// form is cleared in the transaction that records the password as applied.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table staged_credentials add column password_sealed text, add column password_key_id text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table staged_credentials drop column password_sealed, drop column password_key_id`.execute(db);
}
