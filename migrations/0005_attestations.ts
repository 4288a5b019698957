// Attestations: one row per message the API sends a workflow on a principal's behalf, MACed under
// a server key. A workflow counts a decision, verification or review only once it has confirmed
// the row (activities/attestations.ts); a message sent straight to Temporal has none.
import { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('attestations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('case_id', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text')
    .addColumn('person_id', 'text')
    .addColumn('facts', 'jsonb', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('mac', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    // Which activity used it: a retry of that activity is answered again, any other use is a replay.
    .addColumn('used_by', 'text')
    .execute();
  await db.schema.createIndex('attestations_case_idx').on('attestations').columns(['case_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('attestations').ifExists().execute();
}
