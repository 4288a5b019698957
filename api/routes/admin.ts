// Admin: tenants, bulk account import (creates only; changes: account-change.ts), principals (API
// keys shown once) and tenant policy. One function per route (the two policy routes together);
// every change commits with its audit event.
import type { FastifyInstance } from 'fastify';
import { policyOverrideSchema, resolvePolicy, type PolicyOverride } from '../../domain/policy';
import { SYSTEM_CHAIN, coversAllTenants, firstOutside } from '../../domain/scope';
import { appendAuditTx } from '../../store/audit';
import { importAccounts } from '../../store/directory';
import { insertPrincipal } from '../../store/principals';
import { personForEmail } from '../../store/persons';
import { existingTenantIds, getTenant, insertTenant, setPolicyOverride } from '../../store/tenants';
import { apiKeyHash, newApiKey, newId } from '../../infra/secrets';
import { typed, type AppDeps, type Router } from '../deps';
import { accountChangeRoute } from './account-change';
import { builtinDirectoryOnly } from '../remote-directory';
import { ApiError } from '../errors';
import { issuePersonLink, notifyApproverChange } from '../principal-mail';
import { principalRoutes } from './principals';
import { tenantDirectoryRoutes } from './tenant-directory';
import { directoryOpsRoutes } from './directory-ops';
import { updateSchedule } from '../access-review-schedule';
import { CreatePrincipal, CreateTenant, ImportAccounts, ImportOut, PolicyOut, PrincipalOut, TenantOut, TenantParams } from '../schemas';

/** The tenant, or a 404 naming the tenantId parameter. */
export async function tenantOr404({ db }: AppDeps, tenantId: string) {
  const t = await getTenant(db, tenantId);
  if (!t) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
  return t;
}

function createTenantRoute(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  r.post(
    '/v1/admin/tenants',
    { onRequest: auth.requireRole('admin'), schema: { summary: 'Create a tenant', tags: ['admin'], body: CreateTenant, response: { 201: TenantOut } } },
    async (req, reply) => {
      const b = req.body;
      if (!coversAllTenants(req.principal!.tenantScope)) throw new ApiError(403, 'forbidden', 'creating tenants needs an admin with scope "*"');
      // Every administrative change commits with its audit event, or not at all.
      const created = await db.transaction().execute(async (trx) => {
        const inserted = await insertTenant(trx, {
          id: b.id,
          name: b.name,
          authMode: b.authMode,
          securityContacts: b.securityContacts,
          breakGlassAccount: b.breakGlassAccount ?? null,
          caseSensitiveAccountIds: b.caseSensitiveAccountIds,
        });
        if (!inserted) return false;
        await appendAuditTx(trx, {
          tenantId: b.id,
          eventKey: `tenant-created:${b.id}`,
          actor: `principal:${req.principal!.id}`,
          action: 'tenant.created',
          target: `tenant:${b.id}`,
          details: { name: b.name, authMode: b.authMode, securityContacts: b.securityContacts.length, caseSensitiveAccountIds: b.caseSensitiveAccountIds },
        });
        return true;
      });
      if (!created) throw new ApiError(409, 'tenant_exists', 'id: a tenant with this id exists', { field: 'id' });
      return reply.code(201).send({
        id: b.id,
        name: b.name,
        authMode: b.authMode,
        securityContacts: b.securityContacts,
        breakGlassAccount: b.breakGlassAccount ?? null,
        caseSensitiveAccountIds: b.caseSensitiveAccountIds,
      });
    },
  );
}

function importRoute(r: Router, deps: AppDeps) {
  const { db, auth, config } = deps;
  r.post(
    '/v1/admin/tenants/:tenantId/accounts',
    {
      onRequest: auth.requireRole('admin'),
      bodyLimit: 5 * 1024 * 1024,
      schema: {
        summary: 'Import new accounts; an externalId that exists already is listed in `existing` and left unchanged',
        tags: ['admin'],
        params: TenantParams,
        body: ImportAccounts,
        response: { 200: ImportOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'accounts.import');
      await tenantOr404(deps, tenantId);
      await builtinDirectoryOnly(deps, tenantId);
      const ids = req.body.accounts.map((a) => a.externalId);
      const dup = ids.find((id, i) => ids.indexOf(id) !== i);
      if (dup) throw new ApiError(400, 'invalid_field', `accounts: externalId ${dup} appears twice`, { field: 'accounts' });
      return importAccounts(db, config.knowledgeKey, tenantId, req.body.accounts, (trx, result) =>
        appendAuditTx(trx, {
          tenantId,
          eventKey: `accounts-imported:${req.id}:${Date.now()}`,
          actor: `principal:${req.principal!.id}`,
          action: 'accounts.imported',
          target: `tenant:${tenantId}`,
          // `existing`: the ids refused because they exist (import never changes an account).
          details: { created: result.created, existing: result.existing.slice(0, 100), externalIds: ids.slice(0, 100) },
        }),
      );
    },
  );
}

function createPrincipalRoute(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  r.post(
    '/v1/admin/principals',
    {
      onRequest: auth.requireRole('admin'),
      config: { secretResponse: true },
      schema: { summary: 'Create a principal; its API key is shown once', tags: ['admin'], body: CreatePrincipal, response: { 201: PrincipalOut } },
    },
    async (req, reply) => {
      const b = req.body;
      const p = req.principal!;
      const outside = firstOutside(p.tenantScope, b.tenantScope);
      if (outside) throw new ApiError(403, 'tenant_out_of_scope', `tenantScope: ${outside} is outside your own scope`, { field: 'tenantScope' });
      const named = b.tenantScope.filter((t) => t !== '*');
      if (named.length) {
        const found = await existingTenantIds(db, named);
        const missing = named.find((t) => !found.includes(t));
        if (missing) throw new ApiError(400, 'tenant_not_found', `tenantScope: no tenant ${missing}`, { field: 'tenantScope' });
      }
      const id = newId('prn');
      const apiKey = newApiKey();
      const facts = { id, name: b.name, roles: b.roles, tenantScope: b.tenantScope, email: b.email ?? null };
      const { personId, mailLink } = await db.transaction().execute(async (trx) => {
        // Principals sharing an address share a person; the holder confirms the binding by mail.
        const personId = b.email ? await personForEmail(trx, b.email) : null;
        await insertPrincipal(trx, {
          id,
          name: b.name,
          roles: b.roles,
          tenantScope: b.tenantScope,
          keyHash: apiKeyHash(apiKey),
          account: b.account ?? null,
          createdBy: p.id,
          email: b.email ?? null,
          personId,
        });
        // Tenants in a fixed order: two creations never wait for each other's audit heads crosswise.
        for (const t of named.length ? [...named].sort() : [SYSTEM_CHAIN]) {
          await appendAuditTx(trx, {
            tenantId: t,
            eventKey: `principal-created:${id}:${t}`,
            actor: `principal:${p.id}`,
            action: 'principal.created',
            target: `principal:${id}`,
            details: { name: b.name, roles: b.roles, tenantScope: b.tenantScope, personId },
          });
        }
        const mailLink = personId ? await issuePersonLink(deps, trx, { ...facts, personId, createdBy: `principal:${p.id}` }) : null;
        return { personId, mailLink };
      });
      await mailLink?.();
      await notifyApproverChange(deps, facts, 'created', { actor: `principal:${p.id}`, eventKey: `principal-created:${id}` });
      return reply.code(201).send({ ...facts, personId, personConfirmed: false, apiKey });
    },
  );
}

function policyRoutes(r: Router, deps: AppDeps) {
  const { db, auth, config } = deps;
  const PolicyOverrideBody = policyOverrideSchema(config.policyMode);
  r.put(
    '/v1/admin/tenants/:tenantId/policy',
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: 'Set the tenant policy overrides (bounded)',
        tags: ['admin'],
        params: TenantParams,
        body: PolicyOverrideBody,
        response: { 200: PolicyOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'policy.update');
      await tenantOr404(deps, tenantId);
      const override = req.body;
      await db.transaction().execute(async (trx) => {
        await setPolicyOverride(trx, tenantId, override);
        await appendAuditTx(trx, {
          tenantId,
          eventKey: `policy-updated:${req.id}:${Date.now()}`,
          actor: `principal:${req.principal!.id}`,
          action: 'policy.updated',
          target: `tenant:${tenantId}`,
          details: { override },
        });
      });
      const effective = resolvePolicy(override);
      // The tenant's access-review Schedule (if one was created) follows the new cadence at once.
      await updateSchedule(deps, tenantId, effective.accessReview);
      return { tenantId, override, effective };
    },
  );

  r.get(
    '/v1/admin/tenants/:tenantId/policy',
    {
      onRequest: auth.requireRole('admin', 'auditor'),
      schema: { summary: 'The tenant policy in effect', tags: ['admin'], params: TenantParams, response: { 200: PolicyOut } },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'policy.read');
      const t = await tenantOr404(deps, tenantId);
      return { tenantId, override: t.policy_override, effective: resolvePolicy(t.policy_override as PolicyOverride | null) };
    },
  );
}

export function adminRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  createTenantRoute(r, deps);
  importRoute(r, deps);
  accountChangeRoute(r, deps);
  createPrincipalRoute(r, deps);
  principalRoutes(r, deps);
  policyRoutes(r, deps);
  tenantDirectoryRoutes(r, deps);
  directoryOpsRoutes(r, deps);
}
