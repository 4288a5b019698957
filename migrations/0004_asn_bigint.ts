// ASNs are 32-bit unsigned (up to 4294967295): an `integer` column overflowed above 2^31-1.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table login_events alter column asn type bigint`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table login_events alter column asn type integer`.execute(db);
}
