// Accounts of a tenant whose directory is remote (webhook, Keycloak) live there: the engine's own
// account import and account changes would only touch its mirror, so they are refused.
import type { AppDeps } from './deps';
import { ApiError } from './errors';

export async function builtinDirectoryOnly(deps: AppDeps, tenantId: string): Promise<void> {
  const directory = await deps.directoryFor(tenantId);
  if (directory.kind === 'builtin') return;
  throw new ApiError(409, 'directory_remote', `tenantId: this tenant's accounts live in its ${directory.kind} directory; change them there`, {
    field: 'tenantId',
  });
}
