// Managing principals after creation: disable, rotate the key, re-send the person link (admin,
// only for principals inside the admin's own scope, every change audited), and the public use of
// a person link. One function per route; the scoped load and the audit fan-out sit above them.
import type { FastifyRequest } from 'fastify';
import { firstOutside } from '../../domain/scope';
import { appendAudit, appendAuditTx, type AuditInput } from '../../store/audit';
import { consumeVerification, invalidateVerifications, markPersonVerified, verificationByHash } from '../../store/persons';
import { confirmPerson, disablePrincipal, principalById, rotatePrincipalKey } from '../../store/principals';
import { apiKeyHash, constantTimeEqualHex, newApiKey, tokenHash } from '../../infra/secrets';
import type { Transaction } from 'kysely';
import type { Database } from '../../store/db';
import type { AppDeps, Router } from '../deps';
import { ApiError } from '../errors';
import { homeTenant, issuePersonLink, notifyApproverChange, PERSON_LINK_TTL_HOURS } from '../principal-mail';
import { DisablePrincipal, PersonLinkOut, PersonVerifiedOut, PersonVerifyBody, PrincipalDisabledOut, PrincipalKeyOut, PrincipalParams } from '../schemas';
import { LINK_INVALID } from './links';

type Row = NonNullable<Awaited<ReturnType<typeof principalById>>>;

const notFound = () => new ApiError(404, 'principal_not_found', 'id: no such principal', { field: 'id' });

/** The tenants a principal's events go to, in a fixed order (no crosswise waits on audit heads). */
const chainsOf = (scope: readonly string[]) => {
  const named = scope.filter((t) => t !== '*').sort();
  return named.length ? named : ['_system'];
};

async function auditEach(trx: Transaction<Database>, row: Row, ev: Omit<AuditInput, 'tenantId' | 'target' | 'eventKey'> & { eventKey: string }) {
  for (const t of chainsOf(row.tenant_scope)) await appendAuditTx(trx, { ...ev, tenantId: t, target: `principal:${row.id}`, eventKey: `${ev.eventKey}:${t}` });
}

const factsOf = (row: Row) => ({ id: row.id, name: row.name, roles: row.roles, tenantScope: row.tenant_scope, email: row.email });

/**
 * A principal the caller may manage: its whole scope lies inside the caller's. Anything else
 * answers like an unknown id; an attempt on an existing one is audited in its own tenant.
 */
async function managed(deps: AppDeps, req: FastifyRequest, id: string, action: string): Promise<Row> {
  const row = await principalById(deps.db, id);
  if (!row) throw notFound();
  const p = req.principal!;
  if (firstOutside(p.tenantScope, row.tenant_scope)) {
    await appendAudit(deps.db, {
      tenantId: homeTenant(row.tenant_scope),
      eventKey: `principal-out-of-scope:${req.id}:${Date.now()}`,
      actor: `principal:${p.id}`,
      action: 'access.denied_out_of_scope',
      target: `principal:${row.id}`,
      details: { attempted: action, scope: p.tenantScope },
    });
    throw notFound();
  }
  return row;
}

function disableRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/admin/principals/:id/disable',
    {
      onRequest: deps.auth.requireRole('admin'),
      schema: {
        summary: 'Disable a principal: its key answers 401 at once',
        tags: ['admin'],
        params: PrincipalParams,
        body: DisablePrincipal,
        response: { 200: PrincipalDisabledOut },
      },
    },
    async (req) => {
      const row = await managed(deps, req, req.params.id, 'principal.disable');
      const actor = `principal:${req.principal!.id}`;
      const done = await deps.db.transaction().execute(async (trx) => {
        const d = await disablePrincipal(trx, row.id);
        if (!d.now) return d;
        await invalidateVerifications(trx, row.id);
        await auditEach(trx, row, { eventKey: `principal-disabled:${row.id}`, actor, action: 'principal.disabled', details: { reason: req.body.reason } });
        return d;
      });
      if (done.now) await notifyApproverChange(deps, factsOf(row), 'disabled', { actor, eventKey: `principal-disabled:${row.id}` });
      return { id: row.id, disabledAt: new Date(done.disabledAt).toISOString() };
    },
  );
}

function rotateRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/admin/principals/:id/rotate-key',
    {
      onRequest: deps.auth.requireRole('admin'),
      config: { secretResponse: true },
      schema: {
        summary: 'Rotate a principal’s API key: the new key is shown once, the old one stops',
        tags: ['admin'],
        params: PrincipalParams,
        response: { 200: PrincipalKeyOut },
      },
    },
    async (req, reply) => {
      const row = await managed(deps, req, req.params.id, 'principal.rotate_key');
      const actor = `principal:${req.principal!.id}`;
      const apiKey = newApiKey();
      const eventKey = `principal-key-rotated:${row.id}:${req.id}:${Date.now()}`;
      const mailLink = await deps.db.transaction().execute(async (trx) => {
        if (!(await rotatePrincipalKey(trx, row.id, apiKeyHash(apiKey)))) throw new ApiError(409, 'principal_disabled', 'the principal is disabled');
        await auditEach(trx, row, { eventKey, actor, action: 'principal.key_rotated', details: { personReconfirmation: !!row.person_id } });
        // Whoever rotated the key has seen it: the person confirms again from their mailbox.
        return row.person_id ? issuePersonLink(deps, trx, { ...factsOf(row), personId: row.person_id, createdBy: actor }) : null;
      });
      await mailLink?.();
      await notifyApproverChange(deps, factsOf(row), 'key_rotated', { actor, eventKey });
      return reply.header('cache-control', 'no-store').send({ id: row.id, apiKey, personConfirmed: false });
    },
  );
}

function resendRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/admin/principals/:id/person-link',
    {
      onRequest: deps.auth.requireRole('admin'),
      schema: {
        summary: 'Mail a fresh link confirming the principal’s person (earlier ones stop)',
        tags: ['admin'],
        params: PrincipalParams,
        response: { 200: PersonLinkOut },
      },
    },
    async (req) => {
      const row = await managed(deps, req, req.params.id, 'principal.person_link');
      if (!row.person_id) throw new ApiError(409, 'no_person', 'the principal has no email address, so no person to confirm');
      if (row.disabled_at) throw new ApiError(409, 'principal_disabled', 'the principal is disabled');
      const actor = `principal:${req.principal!.id}`;
      const send = await deps.db.transaction().execute(async (trx) => {
        await auditEach(trx, row, { eventKey: `person-link:${row.id}:${req.id}:${Date.now()}`, actor, action: 'principal.person_link_sent', details: {} });
        return issuePersonLink(deps, trx, { ...factsOf(row), personId: row.person_id!, createdBy: actor });
      });
      return { id: row.id, sent: await send(), expiresInHours: PERSON_LINK_TTL_HOURS };
    },
  );
}

function verifyRoute(r: Router, deps: AppDeps) {
  const { db, config } = deps;
  r.post(
    '/v1/persons/verify',
    {
      schema: {
        summary: 'Use a person link: confirms that the key’s holder reads this address',
        tags: ['public'],
        body: PersonVerifyBody,
        response: { 200: PersonVerifiedOut },
      },
    },
    async (req) => {
      const h = tokenHash(config.tokenKeys, req.body.token);
      // A malformed token still costs one indexed lookup, so timing does not tell it apart.
      const row = await verificationByHash(db, h?.hash ?? '0'.repeat(64));
      if (!h || !row || !constantTimeEqualHex(row.token_hash, h.hash) || row.key_id !== h.keyId) throw LINK_INVALID();
      const principalId = await db.transaction().execute(async (trx) => {
        const used = await consumeVerification(trx, row.id);
        if (!used || !(await confirmPerson(trx, used.principal_id, used.person_id))) return null;
        await markPersonVerified(trx, used.person_id);
        const p = (await principalById(trx, used.principal_id))!;
        await auditEach(trx, p, {
          eventKey: `person-verified:${row.id}`,
          actor: `person:${used.person_id}`,
          action: 'principal.person_confirmed',
          details: { personId: used.person_id },
        });
        return used.principal_id;
      });
      if (!principalId) throw LINK_INVALID();
      return { status: 'verified' as const, principalId, message: 'Confirmed: this key may now approve and review as you.' };
    },
  );
}

export function principalRoutes(r: Router, deps: AppDeps) {
  disableRoute(r, deps);
  rotateRoute(r, deps);
  resendRoute(r, deps);
  verifyRoute(r, deps);
}
