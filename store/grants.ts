// Emergency-access grants (break-glass, SSO bypass), their one credential each (an HMAC for
// checking) and its sealed copy for the single pickup. The only owner of `access_grants`,
// `access_credentials` and `credential_pickups`.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';

type Trx = Transaction<Database>;
export type GrantRow = NonNullable<Awaited<ReturnType<typeof getGrant>>>;

export function getGrant(db: Db, id: string) {
  return db.selectFrom('access_grants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function activeGrantId(db: Db, g: { tenantId: string; accountId: string; kind: 'break_glass' | 'sso_bypass' }): Promise<string | null> {
  const row = await db
    .selectFrom('access_grants')
    .select('id')
    .where('tenant_id', '=', g.tenantId)
    .where('account_id', '=', g.accountId)
    .where('kind', '=', g.kind)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function insertGrant(
  db: Db,
  g: {
    id: string;
    tenantId: string;
    accountId: string;
    kind: 'break_glass' | 'sso_bypass';
    requestedBy: string;
    justification: string;
    ticketRef: string;
    durationSeconds: number;
    workflowId: string;
  },
): Promise<void> {
  await db
    .insertInto('access_grants')
    .values({
      id: g.id,
      tenant_id: g.tenantId,
      account_id: g.accountId,
      kind: g.kind,
      state: 'requested',
      requested_by: g.requestedBy,
      justification: g.justification,
      ticket_ref: g.ticketRef,
      duration_seconds: g.durationSeconds,
      workflow_id: g.workflowId,
    })
    .execute();
}

/** Its workflow never started: the grant ends. */
export async function cancelUnstartedGrant(db: Db, id: string): Promise<void> {
  await db.updateTable('access_grants').set({ state: 'cancelled', ended_at: new Date() }).where('id', '=', id).execute();
}

/** Moves the grant to a new state under a row lock; returns the grant as it was. */
export async function moveGrant(trx: Trx, t: { id: string; state: string; terminal: boolean; runId: string | null }) {
  const g = await trx.selectFrom('access_grants').selectAll().where('id', '=', t.id).forUpdate().executeTakeFirst();
  if (!g) return null;
  await trx
    .updateTable('access_grants')
    .set({
      state: t.state,
      run_id: sql<string | null>`coalesce(run_id, ${t.runId})`,
      updated_at: new Date(),
      ...(t.terminal ? { ended_at: sql`coalesce(ended_at, now())` } : {}),
    })
    .where('id', '=', t.id)
    .execute();
  return g;
}

/**
 * Exactly one credential per grant, however often this runs (worker crash, retry): the grant's
 * advisory lock, then the existing one or a new one with its sealed pickup copy.
 */
export function issueCredentialOnce(
  db: Db,
  g: { grantId: string; tenantId: string; accountId: string; expiresAt: Date },
  make: () => { keyId: string; hash: string; sealed: string },
): Promise<{ credentialId: string; expiresAt: Date }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`grant:${g.grantId}`}))`.execute(trx);
    const existing = await trx.selectFrom('access_credentials').select(['id', 'expires_at']).where('grant_id', '=', g.grantId).executeTakeFirst();
    if (existing) return { credentialId: existing.id, expiresAt: new Date(existing.expires_at) };
    const cred = make();
    const row = await trx
      .insertInto('access_credentials')
      .values({ grant_id: g.grantId, tenant_id: g.tenantId, account_id: g.accountId, key_id: cred.keyId, credential_hash: cred.hash, expires_at: g.expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx.insertInto('credential_pickups').values({ grant_id: g.grantId, sealed: cred.sealed, key_id: cred.keyId }).execute();
    return { credentialId: row.id, expiresAt: g.expiresAt };
  });
}

/** The sealed copy waiting for the pickup, read without taking it (a remote directory is told the credential). */
export function pickupCopy(db: Db, grantId: string) {
  return db.selectFrom('credential_pickups').select(['sealed', 'key_id']).where('grant_id', '=', grantId).executeTakeFirst();
}

/** The credential stops working and its unfetched copy is destroyed. */
export async function revokeCredential(db: Db, grantId: string, reason: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('access_credentials')
      .set({ revoked_at: new Date(), revoke_reason: reason })
      .where('grant_id', '=', grantId)
      .where('revoked_at', 'is', null)
      .execute();
    await trx.deleteFrom('credential_pickups').where('grant_id', '=', grantId).execute();
  });
}

/**
 * The one pickup: deletes the sealed copy and marks the live credential fetched, or null. The
 * caller opens the copy before its transaction commits, so a copy it cannot open is kept.
 */
export async function pickUpCredential(trx: Trx, grantId: string): Promise<{ sealed: string; keyId: string | null; expiresAt: Date } | null> {
  const pickup = await trx.deleteFrom('credential_pickups').where('grant_id', '=', grantId).returning(['sealed', 'key_id']).executeTakeFirst();
  if (!pickup) return null;
  const cred = await trx
    .updateTable('access_credentials')
    .set({ fetched_at: new Date() })
    .where('grant_id', '=', grantId)
    .where('fetched_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['expires_at'])
    .executeTakeFirst();
  if (!cred) return null;
  return { sealed: pickup.sealed, keyId: pickup.key_id, expiresAt: new Date(cred.expires_at) };
}

export function credentialState(db: Db, grantId: string) {
  return db.selectFrom('access_credentials').select(['fetched_at', 'revoked_at']).where('grant_id', '=', grantId).executeTakeFirst();
}

/** The credential with this HMAC, and whether it is unexpired. */
export function credentialByHash(db: Db, hash: string) {
  return db
    .selectFrom('access_credentials')
    .select(['credential_hash', 'revoked_at', 'grant_id', 'tenant_id', 'account_id'])
    .select(sql<boolean>`expires_at > now()`.as('unexpired'))
    .where('credential_hash', '=', hash)
    .executeTakeFirst();
}

export function endedGrantCounts(db: Db) {
  return db
    .selectFrom('access_grants')
    .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('ended_at', 'is not', null)
    .groupBy(['kind', 'state'])
    .execute();
}

export function grantCountsIn(db: Db, states: string[]) {
  return db
    .selectFrom('access_grants')
    .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'in', states)
    .groupBy(['kind', 'state'])
    .execute();
}

/** A grant's credential as evidence: issued, fetched, expiring and revoked times; never the credential or its hash. */
export function grantCredentialTimes(db: Db, grantId: string) {
  return db
    .selectFrom('access_credentials')
    .select(['created_at', 'expires_at', 'fetched_at', 'revoked_at', 'revoke_reason'])
    .where('grant_id', '=', grantId)
    .orderBy('created_at')
    .execute();
}

/** An account's emergency-access grants still running (not ended), oldest first. */
export function openGrantsOf(db: Db, tenantId: string, accountId: string) {
  return db
    .selectFrom('access_grants')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where('ended_at', 'is', null)
    .orderBy('created_at')
    .execute();
}

/** The tenant's break-glass grants whose credential was issued, with when it stopped working (revoked, else expiry). */
export function issuedBreakGlassGrants(db: Db, tenantId: string) {
  return db
    .selectFrom('access_grants as g')
    .innerJoin('access_credentials as c', 'c.grant_id', 'g.id')
    .select(['g.id', 'g.account_id', 'g.state'])
    .select(sql<Date>`coalesce(least(c.revoked_at, c.expires_at), c.expires_at)`.as('ends_at'))
    .where('g.tenant_id', '=', tenantId)
    .where('g.kind', '=', 'break_glass')
    .orderBy('g.id')
    .execute();
}
