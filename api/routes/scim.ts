// SCIM 2.0 deprovisioning (RFC 7644) for a tenant's identity provider: PATCH, PUT and DELETE
// /v1/scim/v2/Users/:id, where `id` is the account's stable external id (never an email). The
// caller is the tenant's IdP, with the tenant's own SCIM bearer token (never an engine API key);
// answers and errors are SCIM's own shapes, so the routes stay out of the engine's OpenAPI
// document. The admin route that issues the token is an engine route like any other.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyInstance } from 'fastify';
import { activeFromPatch, activeFromPut, SCIM_ERROR, SCIM_USER, ScimInputError } from '../../domain/scim';
import { apiKeyHash } from '../../infra/secrets';
import { appendAuditTx, appendAudit } from '../../store/audit';
import { findAccount, setAccountLifecycle } from '../../store/directory';
import { saveScimToken, tenantOfScimToken } from '../../store/scim';
import { getTenant } from '../../store/tenants';
import { deprovision } from '../deprovision';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError, toApiError } from '../errors';
import { ScimTokenOut, TenantParams } from '../schemas';
import crypto from 'node:crypto';

declare module 'fastify' {
  interface FastifyRequest {
    scimTenant: string | null;
  }
}

const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$/;

function scimError(reply: FastifyReply, status: number, detail: string, scimType?: string) {
  return reply
    .code(status)
    .type('application/scim+json; charset=utf-8')
    .send({ schemas: [SCIM_ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail });
}

/** Every error on a SCIM route, from any layer (parsing included), in SCIM's error shape. */
function scimErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ScimInputError) return scimError(reply, 400, err.message, err.scimType);
  const e = toApiError(err, req.url);
  if (e.status >= 500) req.log.error({ err: err.message }, 'scim request failed');
  for (const [k, v] of Object.entries(e.headers ?? {})) reply.header(k, v);
  return scimError(reply, e.status, e.message, e.status === 400 ? 'invalidSyntax' : undefined);
}

/** The tenant's SCIM token, and nothing else, opens these routes. */
async function scimAuth(deps: AppDeps, req: FastifyRequest, reply: FastifyReply) {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const tenantId = m ? await tenantOfScimToken(deps.db, apiKeyHash(m[1])) : null;
  if (!tenantId) {
    reply.header('www-authenticate', 'Bearer realm="scim"');
    throw new ApiError(401, 'unauthenticated', 'a valid SCIM bearer token of the tenant is required (an engine API key is not one)');
  }
  req.scimTenant = tenantId;
}

function userResource(accountId: string, status: string) {
  return {
    schemas: [SCIM_USER],
    id: accountId,
    userName: accountId,
    active: status === 'active',
    meta: { resourceType: 'User', location: `/v1/scim/v2/Users/${encodeURIComponent(accountId)}` },
  };
}

/** The tenant's account named by the path, or a SCIM 404 (another tenant's accounts do not exist here). */
async function accountOf(deps: AppDeps, req: FastifyRequest) {
  const id = (req.params as { id: string }).id;
  if (!ACCOUNT_ID.test(id)) throw new ApiError(400, 'invalid_field', 'id: an account external id');
  const row = await findAccount(deps.db, req.scimTenant!, id);
  if (!row) throw new ApiError(404, 'not_found', `User ${id} not found`);
  return row;
}

/** Applies `active` as the IdP set it; deactivation ends everything at once (api/deprovision.ts). */
async function applyActive(deps: AppDeps, req: FastifyRequest, reply: FastifyReply, active: boolean | null) {
  const row = await accountOf(deps, req);
  if (row.status === 'deprovisioned') throw new ApiError(404, 'not_found', `User ${row.external_id} was deleted`);
  let status: string = row.status;
  if (active === false) {
    status =
      (await deprovision(deps, { tenantId: row.tenant_id, accountId: row.external_id, accountUuid: row.id, status: 'suspended', requestId: req.id })).status ??
      status;
  } else if (active === true && row.status !== 'active') {
    status = (await setAccountLifecycle(deps.db, row.id, 'active')) ?? status;
    await appendAudit(deps.db, {
      tenantId: row.tenant_id,
      eventKey: `account:${row.external_id}:scim-reactivated:${req.id}`,
      actor: `scim:${row.tenant_id}`,
      action: 'account.reactivated',
      target: `account:${row.external_id}`,
      details: { via: 'scim', status },
    });
  }
  return reply.type('application/scim+json; charset=utf-8').send(userResource(row.external_id, status));
}

function scimUserRoutes(app: FastifyInstance, deps: AppDeps) {
  const base = { schema: { hide: true }, errorHandler: scimErrorHandler, onRequest: (req: FastifyRequest, reply: FastifyReply) => scimAuth(deps, req, reply) };
  app.patch('/v1/scim/v2/Users/:id', base, async (req, reply) => applyActive(deps, req, reply, activeFromPatch(req.body)));
  app.put('/v1/scim/v2/Users/:id', base, async (req, reply) => applyActive(deps, req, reply, activeFromPut(req.body)));
  app.delete('/v1/scim/v2/Users/:id', base, async (req, reply) => {
    const row = await accountOf(deps, req);
    // Deleting twice deletes once: the second finds nothing left to end, and says 204 all the same.
    await deprovision(deps, { tenantId: row.tenant_id, accountId: row.external_id, accountUuid: row.id, status: 'deprovisioned', requestId: req.id });
    return reply.code(204).send();
  });
}

function scimTokenRoute(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  r.post(
    '/v1/admin/tenants/:tenantId/scim-token',
    {
      onRequest: auth.requireRole('admin'),
      config: { secretResponse: true },
      schema: {
        summary: "Issue the tenant's SCIM bearer token (shown once; replaces the previous one at once)",
        description: 'The identity provider of the tenant deprovisions accounts with it at /v1/scim/v2/Users/{id} (PATCH, PUT, DELETE; SCIM 2.0).',
        tags: ['admin'],
        params: TenantParams,
        response: { 201: ScimTokenOut },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'scim.token');
      if (!(await getTenant(db, tenantId))) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
      const token = `scim_${crypto.randomBytes(32).toString('base64url')}`;
      await db.transaction().execute(async (trx) => {
        await saveScimToken(trx, { tenantId, tokenHash: apiKeyHash(token), createdBy: req.principal!.id });
        await appendAuditTx(trx, {
          tenantId,
          eventKey: `scim-token:${req.id}:${Date.now()}`,
          actor: `principal:${req.principal!.id}`,
          action: 'scim.token_issued',
          target: `tenant:${tenantId}`,
          details: {},
        });
      });
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ tenantId, token, endpoint: '/v1/scim/v2' });
    },
  );
}

export function scimRoutes(app: FastifyInstance, deps: AppDeps) {
  app.decorateRequest('scimTenant', null);
  scimUserRoutes(app, deps);
  scimTokenRoute(typed(app), deps);
}
