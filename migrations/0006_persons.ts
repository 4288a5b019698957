// Persons behind principals: one verified email per person, the single-use links that verify a
// principal's binding, and one claim per person and case so two keys of one person decide once.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('persons')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Normalised (trimmed, NFKC, lower case): one person per address in the deployment.
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('verified_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .alterTable('principals')
    .addColumn('person_id', 'text', (c) => c.references('persons.id'))
    // When this principal's holder confirmed the binding through the emailed link; null: it may not decide.
    .addColumn('person_confirmed_at', 'timestamptz')
    .execute();

  // Existing principals with an address get their person, unconfirmed: an admin re-sends the link.
  await sql`insert into persons (id, email)
    select 'psn_' || replace(gen_random_uuid()::text, '-', ''), e
      from (select distinct lower(trim(email)) as e from principals where email is not null) as addresses`.execute(db);
  await sql`update principals set person_id = persons.id from persons where persons.email = lower(trim(principals.email))`.execute(db);

  // Only the HMAC of a link's token is kept, as for every other link.
  await db.schema
    .createTable('person_verifications')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('invalidated_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('person_verifications_principal_idx').on('person_verifications').column('principal_id').execute();

  // The first key of a person to decide a case holds the claim; another key of that person is refused.
  await db.schema
    .createTable('decision_claims')
    .addColumn('case_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('decision_claims_pk', ['case_id', 'person_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('decision_claims').ifExists().execute();
  await db.schema.dropTable('person_verifications').ifExists().execute();
  await db.schema.alterTable('principals').dropColumn('person_confirmed_at').dropColumn('person_id').execute();
  await db.schema.dropTable('persons').ifExists().execute();
}
