// What ops do with saved tenant directories (issue 12): read a directory's live health (a 200
// whatever the answer; an unhealthy directory names its problem) and re-seal every directory
// secret under the current token key after a rotation (deployment-wide admins only).
import { getTenant } from '../../store/tenants';
import { getTenantDirectory } from '../../store/tenant-directories';
import type { AppDeps, Router } from '../deps';
import { ApiError } from '../errors';
import { checkSavedDirectory } from '../directory-status';
import { resealDirectorySecrets } from '../directory-secrets';
import { DirectoryHealthOut, DirectoryResealOut, TenantParams } from '../schemas';
import { requireGlobalRole } from './observability';

function healthRoute(r: Router, deps: AppDeps) {
  const { db, auth, config, directoryHealth } = deps;
  r.get(
    '/v1/admin/tenants/:tenantId/directory/health',
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: "Check the tenant's saved directory live (200 with healthy: false and a typed problem when it fails)",
        tags: ['admin'],
        params: TenantParams,
        response: { 200: DirectoryHealthOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'directory.health');
      if (!(await getTenant(db, tenantId))) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
      const health = await checkSavedDirectory({ db, config }, tenantId, await getTenantDirectory(db, tenantId));
      directoryHealth.record(health);
      return health;
    },
  );
}

function resealRoute(r: Router, deps: AppDeps) {
  const { db, auth, config, log } = deps;
  r.post(
    '/v1/admin/directory-secrets/reseal',
    {
      onRequest: requireGlobalRole(auth, 'admin'),
      schema: {
        summary: 'Re-seal every tenant directory secret under the current (first) TOKEN_HMAC_KEYS key; audited per tenant',
        tags: ['admin'],
        response: { 200: DirectoryResealOut },
      },
    },
    async (req) => resealDirectorySecrets({ db, config, log }, `principal:${req.principal!.id}`),
  );
}

export function directoryOpsRoutes(r: Router, deps: AppDeps) {
  healthRoute(r, deps);
  resealRoute(r, deps);
}
