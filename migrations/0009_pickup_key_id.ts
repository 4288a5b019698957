// The id of the token key that sealed a credential's pickup copy: after a key rotation the API
// opens it with that key, not with whichever key is first. Rows sealed before have none.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table credential_pickups add column key_id text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table credential_pickups drop column key_id`.execute(db);
}
