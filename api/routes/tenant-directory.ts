// Per-tenant directory configuration (issue 12): PUT checks the directory live, then stores the
// settings with the secret sealed (AES-256-GCM, token key id kept for rotation) and audits the
// change without the secret; GET never returns the secret. Recoveries and grants act on the saved
// directory from then on (store/directories.ts).
import { appendAuditTx } from '../../store/audit';
import { getTenant } from '../../store/tenants';
import { getTenantDirectory, putTenantDirectory, type TenantDirectoryRow } from '../../store/tenant-directories';
import { directorySealPurpose } from '../../store/directories';
import { sealSecret } from '../../infra/secrets';
import type { AppDeps, Router } from '../deps';
import { ApiError } from '../errors';
import { checkKeycloak, checkWebhook } from '../directory-health';
import { TenantDirectoryIn, TenantDirectoryOut, TenantParams } from '../schemas';
import type { z } from 'zod';

type DirectoryIn = z.infer<typeof TenantDirectoryIn>;

async function tenantOr404(deps: AppDeps, tenantId: string) {
  if (!(await getTenant(deps.db, tenantId))) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
}

/** The settings kept in the clear, and the one secret of the kind. */
function split(b: DirectoryIn): { settings: Record<string, unknown>; secret: string | null } {
  if (b.kind === 'webhook') return { settings: { baseUrl: b.baseUrl, keyId: b.keyId }, secret: b.secret };
  if (b.kind === 'keycloak') return { settings: { baseUrl: b.baseUrl, realm: b.realm, clientId: b.clientId }, secret: b.clientSecret };
  return { settings: {}, secret: null };
}

function view(tenantId: string, row: TenantDirectoryRow | null) {
  if (!row) return { tenantId, kind: 'builtin' as const, settings: {}, secretSet: false, sealedWith: null, updatedAt: null, updatedBy: null };
  return {
    tenantId,
    kind: row.kind,
    settings: row.settings,
    secretSet: row.secretSealed !== null,
    sealedWith: row.secretKeyId,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
  };
}

function putRoute(r: Router, deps: AppDeps) {
  const { db, auth, config, directoryHealth } = deps;
  r.put(
    '/v1/admin/tenants/:tenantId/directory',
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: 'Set the tenant directory (checked live before it is saved; secrets stored sealed, never returned)',
        tags: ['admin'],
        params: TenantParams,
        body: TenantDirectoryIn,
        response: { 200: TenantDirectoryOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'directory.update');
      await tenantOr404(deps, tenantId);
      const b = req.body;
      // Nothing is written unless the directory answers as configured.
      if (b.kind === 'webhook') await checkWebhook(b, config.production);
      if (b.kind === 'keycloak') await checkKeycloak(b, config.production);
      const { settings, secret } = split(b);
      const key = config.tokenKeys[0];
      const sealed = secret === null ? null : sealSecret(key.key, directorySealPurpose(tenantId), secret);
      const actor = `principal:${req.principal!.id}`;
      await db.transaction().execute(async (trx) => {
        await putTenantDirectory(trx, { tenantId, kind: b.kind, settings, secretSealed: sealed, secretKeyId: sealed ? key.id : null, updatedBy: actor });
        await appendAuditTx(trx, {
          tenantId,
          eventKey: `directory-updated:${req.id}:${Date.now()}`,
          actor,
          action: 'directory.updated',
          target: `tenant:${tenantId}`,
          details: { kind: b.kind, settings, secretSet: sealed !== null, sealedWith: sealed ? key.id : null },
        });
      });
      const saved = await getTenantDirectory(db, tenantId);
      // It just passed the live check: the gauge need not show the replaced directory's state until the next round.
      directoryHealth.record({ tenantId, kind: b.kind, healthy: true, checkedAt: new Date().toISOString(), latencyMs: 0, problem: null });
      return view(tenantId, saved);
    },
  );
}

function getRoute(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  r.get(
    '/v1/admin/tenants/:tenantId/directory',
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: 'The tenant directory configuration (secrets never returned)',
        tags: ['admin'],
        params: TenantParams,
        response: { 200: TenantDirectoryOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'directory.read');
      await tenantOr404(deps, tenantId);
      return view(tenantId, await getTenantDirectory(db, tenantId));
    },
  );
}

export function tenantDirectoryRoutes(r: Router, deps: AppDeps) {
  putRoute(r, deps);
  getRoute(r, deps);
}
