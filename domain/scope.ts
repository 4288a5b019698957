// The one tenant-scope rule (invariant 4): a principal acts only on the tenants its scope lists,
// and '*' lists them all, including tenants created later. Pure: no I/O.

/** The scope entry that stands for every tenant. */
export const ALL_TENANTS = '*';

/** The audit chain of what `*`-scoped principals do (no tenant id can take this name). */
export const SYSTEM_CHAIN = '_system';

/** Whether a principal with this scope may act on this tenant. */
export function coversTenant(scope: readonly string[], tenantId: string): boolean {
  return scope.includes(ALL_TENANTS) || scope.includes(tenantId);
}

/** Whether this scope covers every tenant (some actions, like creating a tenant, need that). */
export function coversAllTenants(scope: readonly string[]): boolean {
  return scope.includes(ALL_TENANTS);
}

/**
 * The first entry of `inner` that `outer` does not cover, or null when `inner` lies inside
 * `outer`. An `inner` of '*' lies only inside an `outer` of '*': nobody hands out more than
 * they hold.
 */
export function firstOutside(outer: readonly string[], inner: readonly string[]): string | null {
  return inner.find((t) => !coversTenant(outer, t)) ?? null;
}

/**
 * Whether a principal may read (export, verify) this audit chain: a tenant's chain within its
 * scope; the `_system` chain only as a `*`-scoped auditor, since it records what `*`-scoped
 * admins did and they should not be the ones auditing it.
 */
export function mayReadChain(p: { roles: readonly string[]; tenantScope: readonly string[] }, chain: string): boolean {
  if (chain === SYSTEM_CHAIN) return p.roles.includes('auditor') && coversAllTenants(p.tenantScope);
  return coversTenant(p.tenantScope, chain);
}
