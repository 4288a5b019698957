// Idempotency keys: the first answer to a POST, replayed for a retry with the same key and body.
// The only owner of `idempotency_keys`.
import { sql } from 'kysely';
import type { Db } from './db';

export interface KeyRef {
  scope: string;
  key: string;
}

/** True when the key is new and now taken by this request. */
export async function claimKey(db: Db, k: KeyRef, requestHash: string): Promise<boolean> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ scope: k.scope, key: k.key, request_hash: requestHash })
    .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return !!inserted;
}

/**
 * Takes over a key whose first request was abandoned (same request, no answer after
 * `staleSeconds`) or whose replay window (`replayHours`) is over.
 */
export async function takeOverKey(db: Db, k: KeyRef, requestHash: string, staleSeconds: number, replayHours: number): Promise<boolean> {
  const takenOver = await db
    .updateTable('idempotency_keys')
    .set({ request_hash: requestHash, status_code: null, response: null, created_at: new Date() })
    .where('scope', '=', k.scope)
    .where('key', '=', k.key)
    .where((eb) =>
      eb.or([
        eb.and([
          eb('status_code', 'is', null),
          eb('request_hash', '=', requestHash),
          eb('created_at', '<', sql<Date>`now() - make_interval(secs => ${staleSeconds})`),
        ]),
        eb('created_at', '<', sql<Date>`now() - make_interval(hours => ${replayHours})`),
      ]),
    )
    .returning('key')
    .executeTakeFirst();
  return !!takenOver;
}

export function getKey(db: Db, k: KeyRef) {
  return db.selectFrom('idempotency_keys').selectAll().where('scope', '=', k.scope).where('key', '=', k.key).executeTakeFirstOrThrow();
}

/** The key's final answer; status 0 means "held a secret: never replayed". */
export async function settleKey(db: Db, k: KeyRef, statusCode: number, response: string | null): Promise<void> {
  await db.updateTable('idempotency_keys').set({ status_code: statusCode, response }).where('scope', '=', k.scope).where('key', '=', k.key).execute();
}

export async function releaseKey(db: Db, k: KeyRef): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('scope', '=', k.scope).where('key', '=', k.key).execute();
}

export async function deleteExpiredKeys(db: Db, replayHours: number): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${replayHours})`)
    .execute();
}
