// Each tenant's SCIM bearer token, as its SHA-256 only: the one credential its identity provider
// holds to deprovision accounts. The only owner of `scim_tokens`.
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';

/** Sets (or replaces: the old token stops at once) the tenant's SCIM token. */
export async function saveScimToken(trx: Transaction<Database>, t: { tenantId: string; tokenHash: string; createdBy: string }): Promise<void> {
  await trx
    .insertInto('scim_tokens')
    .values({ tenant_id: t.tenantId, token_hash: t.tokenHash, created_by: t.createdBy })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ token_hash: t.tokenHash, created_by: t.createdBy, created_at: new Date() }))
    .execute();
}

/** The tenant a SCIM token belongs to, or null. */
export async function tenantOfScimToken(db: Db, tokenHash: string): Promise<string | null> {
  const r = await db.selectFrom('scim_tokens').select('tenant_id').where('token_hash', '=', tokenHash).executeTakeFirst();
  return r?.tenant_id ?? null;
}
