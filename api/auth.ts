// Bearer API keys -> principals with roles and a tenant scope. Keys are stored as SHA-256.
import type { FastifyRequest } from 'fastify';
import type { Db } from '../store/db';
import { apiKeyHash } from '../infra/secrets';
import { appendAudit } from '../store/audit';
import { principalByKeyHash } from '../store/principals';
import { takeRateSlot } from '../store/rate-limits';
import { tenantExists } from '../store/tenants';
import type { PrincipalRole } from '../domain/types';
import { SYSTEM_CHAIN, coversTenant, mayReadChain } from '../domain/scope';
import { ApiError } from './errors';

export interface Principal {
  id: string;
  email: string | null;
  name: string;
  roles: PrincipalRole[];
  tenantScope: string[];
  account: { tenantId: string; accountId: string } | null;
  /** The person behind the key (one per verified email), or null when it has no address. */
  personId: string | null;
  /** Whether the key's holder confirmed the person through the emailed link; only then may it decide or review. */
  personConfirmed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** One record of a tenant, checked against the principal's scope (see requireTenant). */
export interface ScopedRecord {
  /** The audit event's target, e.g. `recovery:<id>`. */
  target: string;
  /** The recovery or grant the audit event is filed under. */
  recoveryId: string;
  /** The audit event's idempotency key, when the caller names it. */
  eventKey?: string;
  notFound: ApiError;
}

/**
 * Out-of-scope attempts audited per principal and tenant per hour. Past it they are only logged:
 * another tenant's principal must not be able to write without limit into this tenant's chain.
 */
export const OUT_OF_SCOPE_AUDITS_PER_HOUR = 20;

const BEARER = /^Bearer ([A-Za-z0-9_.~+/-]{16,256}=*)$/;

/** The hooks that demand a bearer key; a route with none of them is public (and documented so). */
const AUTH_HOOKS = new WeakSet<object>();

/** Marks a hook as one that authenticates (requireRole's, and any hook built on it). */
export function authHook<T extends object>(hook: T): T {
  AUTH_HOOKS.add(hook);
  return hook;
}

/** Whether any of a route's hooks (one, a list, or none) demands a bearer key. */
export function demandsKey(...hooks: unknown[]): boolean {
  return hooks.flat().some((h) => typeof h === 'function' && AUTH_HOOKS.has(h));
}

type PrincipalRow = Pick<
  NonNullable<Awaited<ReturnType<typeof principalByKeyHash>>>,
  'id' | 'email' | 'name' | 'roles' | 'tenant_scope' | 'account_tenant_id' | 'account_external_id' | 'person_id' | 'person_confirmed_at'
>;

/** A principal row (by key, by console session) as the API sees it: one mapping for every way in. */
export function principalOf(row: PrincipalRow): Principal {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: row.roles as PrincipalRole[],
    tenantScope: row.tenant_scope,
    account: row.account_tenant_id && row.account_external_id ? { tenantId: row.account_tenant_id, accountId: row.account_external_id } : null,
    personId: row.person_id,
    personConfirmed: row.person_id !== null && row.person_confirmed_at !== null,
  };
}

export function createAuth(db: Db) {
  async function authenticate(req: FastifyRequest): Promise<Principal> {
    const m = BEARER.exec(req.headers.authorization ?? '');
    if (!m) throw new ApiError(401, 'unauthenticated', 'authorization: send "Bearer <api key>"', { field: 'authorization' }, { 'www-authenticate': 'Bearer' });
    const row = await principalByKeyHash(db, apiKeyHash(m[1]));
    if (!row || row.disabled_at)
      throw new ApiError(401, 'unauthenticated', 'authorization: unknown or disabled API key', { field: 'authorization' }, { 'www-authenticate': 'Bearer' });
    const p = principalOf(row);
    req.principal = p;
    return p;
  }

  /** A preHandler that authenticates and requires one of the roles. */
  function requireRole(...roles: PrincipalRole[]) {
    return authHook(async (req: FastifyRequest) => {
      const p = await authenticate(req);
      if (!roles.some((r) => p.roles.includes(r))) {
        throw new ApiError(403, 'forbidden', `this action needs one of the roles: ${roles.join(', ')}`);
      }
    });
  }

  const auditSlot = (principalId: string, tenantId: string) =>
    takeRateSlot(db, 'out_of_scope_audit', `${principalId}:${tenantId}`, OUT_OF_SCOPE_AUDITS_PER_HOUR, 3600);

  /**
   * Invariant 4: a principal acts only inside its tenant scope; attempts outside are audited (up
   * to OUT_OF_SCOPE_AUDITS_PER_HOUR per principal and tenant, then logged only).
   * Asked about a tenant, it answers 403 tenant_out_of_scope. Asked about one `record` of a
   * tenant (a recovery, a grant), it audits against that record and answers with the record's
   * `notFound`: another tenant's records are not even confirmed to exist.
   */
  async function requireTenant(req: FastifyRequest, tenantId: string, action: string, record?: ScopedRecord): Promise<void> {
    const p = req.principal!;
    if (coversTenant(p.tenantScope, tenantId)) return;
    // A record's tenant exists; a tenant id from the request may name none, and is not audited then.
    const known = !!record || (await tenantExists(db, tenantId));
    if (known && (await auditSlot(p.id, tenantId))) {
      await appendAudit(db, {
        tenantId,
        eventKey: record?.eventKey ?? `scope-violation:${req.id}:${Date.now()}`,
        actor: `principal:${p.id}`,
        action: 'access.denied_out_of_scope',
        target: record?.target ?? `tenant:${tenantId}`,
        ...(record ? { recoveryId: record.recoveryId } : {}),
        details: { attempted: action, scope: p.tenantScope },
      });
    } else if (known) {
      req.log.warn({ principalId: p.id, tenantId, attempted: action }, 'out-of-scope attempt not audited: hourly limit for this principal and tenant reached');
    }
    throw record?.notFound ?? new ApiError(403, 'tenant_out_of_scope', `tenantId: outside this principal's tenant scope`, { field: 'tenantId' });
  }

  /**
   * An audit chain the principal may read: a tenant's as requireTenant decides; the `_system`
   * chain only as a `*`-scoped auditor (domain/scope.ts), anyone else is refused and audited.
   */
  async function requireChain(req: FastifyRequest, chain: string, action: string): Promise<void> {
    if (chain !== SYSTEM_CHAIN) return requireTenant(req, chain, action);
    const p = req.principal!;
    if (mayReadChain(p, chain)) return;
    await appendAudit(db, {
      tenantId: SYSTEM_CHAIN,
      eventKey: `scope-violation:${req.id}:${Date.now()}`,
      actor: `principal:${p.id}`,
      action: 'access.denied_out_of_scope',
      target: `chain:${SYSTEM_CHAIN}`,
      details: { attempted: action, scope: p.tenantScope, roles: p.roles },
    });
    throw new ApiError(403, 'system_chain_forbidden', `tenantId: the ${SYSTEM_CHAIN} chain is read by auditors scoped to "*" only`, { field: 'tenantId' });
  }

  return { authenticate, requireRole, requireTenant, requireChain };
}
export type Auth = ReturnType<typeof createAuth>;
