// Whether Postgres answers (readiness).
import { sql } from 'kysely';
import type { Db } from './db';

export async function databaseAnswers(db: Db): Promise<boolean> {
  return sql`select 1`.execute(db).then(
    () => true,
    () => false,
  );
}
