// First start: an admin principal, its API key printed once (or taken from BOOTSTRAP_ADMIN_KEY).
import type { Db } from './db';
import { apiKeyHash, newApiKey } from './secrets';
import { appendAudit } from './audit';

export async function ensureBootstrapAdmin(db: Db, presetKey?: string): Promise<{ created: boolean; apiKey?: string }> {
  if (presetKey) {
    const hash = apiKeyHash(presetKey);
    const exists = await db.selectFrom('principals').select('id').where('key_hash', '=', hash).executeTakeFirst();
    if (exists) return { created: false };
    await db
      .insertInto('principals')
      .values({ id: 'prn_bootstrap', name: 'bootstrap admin', roles: ['admin'], tenant_scope: ['*'], key_hash: hash, account_tenant_id: null, account_external_id: null, created_by: null })
      .onConflict((oc) => oc.column('id').doUpdateSet({ key_hash: hash, disabled_at: null }))
      .execute();
    await appendAudit(db, { tenantId: '_system', eventKey: `bootstrap-admin:${hash.slice(0, 16)}`, actor: 'system', action: 'principal.bootstrapped', target: 'principal:prn_bootstrap', details: { source: 'BOOTSTRAP_ADMIN_KEY' } });
    return { created: true };
  }
  const any = await db.selectFrom('principals').select('id').limit(1).executeTakeFirst();
  if (any) return { created: false };
  const apiKey = newApiKey();
  await db
    .insertInto('principals')
    .values({ id: 'prn_bootstrap', name: 'bootstrap admin', roles: ['admin'], tenant_scope: ['*'], key_hash: apiKeyHash(apiKey), account_tenant_id: null, account_external_id: null, created_by: null })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await appendAudit(db, { tenantId: '_system', eventKey: 'bootstrap-admin:generated', actor: 'system', action: 'principal.bootstrapped', target: 'principal:prn_bootstrap', details: { source: 'generated' } });
  return { created: true, apiKey };
}
