// Sliding-window rate limits: one row per counted request in `rate_events`, its only owner.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';

/** Serialises the requests of one key for the rest of the transaction (its count is exact). */
export async function lockRateKey(trx: Transaction<Database>, bucket: string, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`${bucket}:${key}`}))`.execute(trx);
}

/**
 * A CTE body that takes one slot of the window if there is room and returns its id (no row: the
 * limit is reached). Meant to be composed into the statement that records the request, so the
 * count, the slot and the request are one statement under the key's lock.
 */
export function takeSlot(bucket: string, key: string, limit: number, windowSeconds: number) {
  return sql`
    insert into rate_events (bucket, key)
    select ${bucket}, ${key}
    where (select count(*) from rate_events
           where bucket = ${bucket} and key = ${key} and at > now() - make_interval(secs => ${windowSeconds})) < ${limit}
    returning id`;
}

/** Takes one slot of the window for `key` if there is room; false when the limit is reached. */
export function takeRateSlot(db: Db, bucket: string, key: string, limit: number, windowSeconds: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockRateKey(trx, bucket, key);
    const rows = await sql<{ id: string }>`${takeSlot(bucket, key, limit, windowSeconds)}`.execute(trx);
    return rows.rows.length > 0;
  });
}
