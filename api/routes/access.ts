// Emergency access over HTTP once requested (see access-request.ts): read, decide, pick the
// credential up once, revoke, review; and the built-in directory's credential check that shows a
// credential works or has stopped (its password sign-in: directory-sessions.ts). One function per
// route; what several routes share (the scoped load, the audited Update) sits above them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  accessDecideUpdate,
  accessReviewUpdate,
  accessRevokeUpdate,
  accessStatusQuery,
  credentialFetchedSignal,
  type AccessStatus,
} from '../../contracts/access';
import { isAccessTerminal } from '../../domain/access';
import { appendAudit, appendAuditTx } from '../../store/audit';
import { openCredentialSession } from '../../store/sessions';
import { credentialByHash, credentialState, getGrant, pickUpCredential, type GrantRow } from '../../store/grants';
import { grantView } from '../views/grant';
import { attest, principalFacts } from '../attest';
import { constantTimeEqualHex, hmacHex, openSealedWith } from '../../infra/secrets';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError, toApiError } from '../errors';
import {
  AccessParams,
  AccessReviewBody,
  AccessRevoke,
  CredentialOut,
  Decision,
  DecisionOut,
  DirectorySession,
  GrantOut,
  SessionOut,
  StateOut,
} from '../schemas';
import { withTemporalDeadline } from '../deadlines';
import { accessRequestRoute } from './access-request';
import { directoryPasswordSessionRoute, takeSignInSlotsOr429 } from './directory-sessions';
import { assertSeparation } from '../separation';

const CREDENTIAL = /^bgc_([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/;

type GrantRef = Pick<GrantRow, 'id' | 'tenant_id' | 'account_id'>;

const noSuchGrant = () => new ApiError(404, 'not_found', 'id: no such grant', { field: 'id' });

async function grantOr404({ db }: AppDeps, id: string) {
  const g = await getGrant(db, id);
  if (!g) throw noSuchGrant();
  return g;
}

/** A grant of the caller's tenants; another tenant's answers like a missing one (and is audited). */
export async function grantInScope(deps: AppDeps, req: FastifyRequest, id: string, action: string) {
  const g = await grantOr404(deps, id);
  await deps.auth.requireTenant(req, g.tenant_id, action, {
    target: `account:${g.account_id}`,
    recoveryId: g.id,
    eventKey: `${g.id}:access.denied_out_of_scope:${req.id}:${Date.now()}`,
    notFound: noSuchGrant(),
  });
  return g;
}

const auditEvent = (g: GrantRef, actor: string, action: string, details: Record<string, unknown>, reqId: string) => ({
  tenantId: g.tenant_id,
  eventKey: `${g.id}:${action}:${reqId}:${Date.now()}`,
  actor,
  action,
  target: `account:${g.account_id}`,
  recoveryId: g.id,
  details,
});

function audit({ db }: AppDeps, g: GrantRef, actor: string, action: string, details: Record<string, unknown>, reqId: string) {
  return appendAudit(db, auditEvent(g, actor, action, details, reqId));
}

const handleOf = ({ temporal }: AppDeps, g: GrantRow) => temporal.workflow.getHandle(g.workflow_id, g.run_id ?? undefined);

/** What an attestation binds a message to. */
const caseOf = (g: GrantRow) => ({ tenantId: g.tenant_id, caseId: g.id, workflowId: g.workflow_id });

/** The grant as the API shows it: the read model, plus the workflow's live status while it runs. */
async function liveView(deps: AppDeps, g: GrantRow) {
  let live: AccessStatus | null = null;
  if (!isAccessTerminal(g.state)) {
    live = await withTemporalDeadline(deps.temporal, 'query', () => handleOf(deps, g).query(accessStatusQuery)).catch(() => null);
    // The workflow publishes a state only once it is recorded: a terminal one means the row just
    // read has moved since. Read it again, so the answer is of one moment.
    if (live && isAccessTerminal(live.state) && !g.ended_at) g = (await getGrant(deps.db, g.id)) ?? g;
  }
  return grantView(g, live);
}

/** An Update whose rejection is audited and mapped in the one place errors are mapped. */
async function update<T>(deps: AppDeps, req: FastifyRequest, g: GrantRow, action: string, run: () => Promise<T>): Promise<T> {
  try {
    // An ended grant answers from the read model: one that never started has no run, and its
    // workflow id may name another grant's run.
    if (isAccessTerminal(g.state)) throw new ApiError(409, 'invalid_state', `the grant is ${g.state}`);
    return await withTemporalDeadline(deps.temporal, 'update', run);
  } catch (err) {
    const e = toApiError(err);
    if (e.status >= 400 && e.status < 500) await audit(deps, g, `principal:${req.principal!.id}`, `${action}.rejected`, { code: e.code }, req.id);
    throw e.code === 'invalid_state' ? new ApiError(409, `${action.split('.')[1]}_closed`, `the grant is ${g.state}`) : e;
  }
}

function readRoute(r: Router, deps: AppDeps) {
  r.get(
    '/v1/break-glass/:id',
    {
      onRequest: deps.auth.requireRole('agent', 'admin', 'break_glass_approver', 'reviewer', 'auditor'),
      schema: { summary: 'Get a grant, its state and deadlines', tags: ['break-glass'], params: AccessParams, response: { 200: GrantOut } },
    },
    async (req) => liveView(deps, await grantInScope(deps, req, req.params.id, 'access.get')),
  );
}

function approvalRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/break-glass/:id/approvals',
    {
      onRequest: deps.auth.requireRole('break_glass_approver', 'approver', 'agent', 'admin', 'reviewer', 'auditor'),
      schema: { summary: 'Approve or deny a grant', tags: ['break-glass'], params: AccessParams, body: Decision, response: { 200: DecisionOut } },
    },
    async (req) => {
      // Scope first: another tenant's grant answers like a missing one, whatever its state.
      const g = await grantInScope(deps, req, req.params.id, 'access.approve');
      await assertSeparation(deps, req, { act: 'grant_approval', id: g.id, tenantId: g.tenant_id, accountId: g.account_id, requestedBy: g.requested_by });
      const { decision, comment } = req.body;
      // The workflow judges role, scope and separation of duties on the facts recorded here.
      const attested = await attest(deps, { ...caseOf(g), kind: 'access.decide', principal: principalFacts(req), message: { decision, comment } });
      const s = await update(deps, req, g, 'access.approval', () =>
        handleOf(deps, g).executeUpdate(accessDecideUpdate, { args: [{ ...attested, decision, comment }] }),
      );
      return { id: g.id, counted: true, state: s.state, approvals: s.approvals };
    },
  );
}

class PickupKeyUnavailable extends Error {
  constructor(readonly keyId: string | null) {
    super('no configured token key opens the sealed credential');
  }
}

/**
 * The pickup in one transaction: the sealed copy is deleted, opened and audited, and only then
 * committed. A copy no configured key opens (its key retired too early) rolls back and stays,
 * since it is the only one: 503 until the key is configured again. Null: nothing to pick up.
 */
async function openPickup(deps: AppDeps, g: GrantRow, actor: string, reqId: string) {
  const { db, config } = deps;
  try {
    return await db.transaction().execute(async (trx) => {
      const picked = await pickUpCredential(trx, g.id);
      if (!picked) return null;
      const credential = openSealedWith(config.tokenKeys, picked.keyId, `pickup:${g.id}`, picked.sealed);
      if (credential === null) throw new PickupKeyUnavailable(picked.keyId);
      // Recorded with the pickup: a credential is never handed out without its audit event.
      await appendAuditTx(
        trx,
        auditEvent(g, actor, 'credential.fetched', { expiresAt: picked.expiresAt.toISOString(), justification: g.justification }, reqId),
      );
      return { credential, expiresAt: picked.expiresAt };
    });
  } catch (err) {
    if (!(err instanceof PickupKeyUnavailable)) throw err;
    deps.log.error({ grantId: g.id, keyId: err.keyId }, 'credential pickup: the sealing token key is not configured');
    await audit(deps, g, actor, 'credential.fetch_failed', { code: 'credential_key_unavailable', keyId: err.keyId }, reqId);
    throw new ApiError(
      503,
      'credential_key_unavailable',
      'the token key that sealed the credential is not configured; the credential is kept: retry once the key is back',
      undefined,
      { 'retry-after': '60' },
    );
  }
}

function credentialRoute(r: Router, deps: AppDeps) {
  const { db, temporal } = deps;
  r.post(
    '/v1/break-glass/:id/credential',
    {
      onRequest: deps.auth.requireRole('agent', 'admin'),
      config: { secretResponse: true },
      schema: { summary: 'Pick the credential up: once, by the requester', tags: ['break-glass'], params: AccessParams, response: { 200: CredentialOut } },
    },
    async (req, reply) => {
      const g = await grantInScope(deps, req, req.params.id, 'access.credential');
      const p = req.principal!;
      if (p.id !== g.requested_by) {
        await audit(deps, g, `principal:${p.id}`, 'credential.fetch_denied', { reason: 'not the requester' }, req.id);
        throw new ApiError(403, 'not_requester', 'only the requester can pick the credential up');
      }
      const picked = await openPickup(deps, g, `principal:${p.id}`, req.id);
      if (!picked) {
        const cred = await credentialState(db, g.id);
        const code = !cred ? 'credential_not_issued' : cred.fetched_at ? 'credential_already_fetched' : 'credential_revoked';
        await audit(deps, g, `principal:${p.id}`, 'credential.fetch_refused', { code }, req.id);
        throw new ApiError(
          409,
          code,
          code === 'credential_not_issued'
            ? 'the credential is not issued yet'
            : code === 'credential_already_fetched'
              ? 'the credential was already picked up; it is shown once'
              : 'the credential has been revoked',
        );
      }
      // Status only: a lost signal (or attestation) leaves `fetched` false, never the pickup undone.
      await attest(deps, { ...caseOf(g), kind: 'access.credential_fetched', principal: principalFacts(req), message: { actor: `principal:${p.id}` } })
        .then((attested) => withTemporalDeadline(temporal, 'signal', () => handleOf(deps, g).signal(credentialFetchedSignal, attested)))
        .catch(() => undefined);
      return reply.header('cache-control', 'no-store').send({
        id: g.id,
        accountId: g.account_id,
        credential: picked.credential,
        expiresAt: picked.expiresAt.toISOString(),
        note: 'Shown once. It stops working at expiresAt or when revoked, and every session opened with it ends then.',
      });
    },
  );
}

function revokeRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/break-glass/:id/revoke',
    {
      onRequest: deps.auth.requireRole('agent', 'admin', 'break_glass_approver'),
      schema: { summary: 'Revoke a grant early', tags: ['break-glass'], params: AccessParams, body: AccessRevoke, response: { 200: StateOut } },
    },
    async (req) => {
      const g = await grantInScope(deps, req, req.params.id, 'access.revoke');
      const message = { actor: `principal:${req.principal!.id}`, reason: req.body.reason };
      const attested = await attest(deps, { ...caseOf(g), kind: 'access.revoke', principal: principalFacts(req), message });
      const s = await update(deps, req, g, 'access.revoke', () => handleOf(deps, g).executeUpdate(accessRevokeUpdate, { args: [attested] }));
      return { id: g.id, state: s.state, credential: s.credential };
    },
  );
}

function reviewRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/break-glass/:id/review',
    {
      onRequest: deps.auth.requireRole('reviewer', 'agent', 'admin', 'break_glass_approver', 'approver', 'auditor'),
      schema: { summary: 'Record the post-action review', tags: ['break-glass'], params: AccessParams, body: AccessReviewBody, response: { 200: StateOut } },
    },
    async (req) => {
      const g = await grantInScope(deps, req, req.params.id, 'access.review');
      await assertSeparation(deps, req, { act: 'grant_review', id: g.id, tenantId: g.tenant_id, accountId: g.account_id, requestedBy: g.requested_by });
      const { outcome, notes } = req.body;
      const attested = await attest(deps, { ...caseOf(g), kind: 'access.review', principal: principalFacts(req), message: { outcome, notes } });
      const s = await update(deps, req, g, 'access.review', () =>
        handleOf(deps, g).executeUpdate(accessReviewUpdate, { args: [{ ...attested, outcome, notes }] }),
      );
      return { id: g.id, state: s.state, review: s.review };
    },
  );
}

// The built-in directory's sign-in with an emergency credential: proof that it works, and stops.
function directorySessionRoute(r: Router, deps: AppDeps) {
  const { db, config } = deps;
  r.post(
    '/v1/directory/sessions',
    {
      schema: {
        summary: 'Sign in to the built-in directory with an emergency credential (rate-limited per IP and per account)',
        tags: ['directory'],
        body: DirectorySession,
        response: { 201: SessionOut },
      },
    },
    async (req, reply) => {
      const { tenantId, accountId, credential } = req.body;
      const invalid = () => new ApiError(401, 'invalid_credential', 'credential: not valid for this account now', { field: 'credential' });
      const m = CREDENTIAL.exec(credential);
      const key = m && config.tokenKeys.find((k) => k.id === m[1]);
      const hash = key ? hmacHex(key.key, credential) : '0'.repeat(64);
      // Counted before the credential is looked at: every attempt costs the same and counts.
      await takeSignInSlotsOr429(deps, req.ip, tenantId, accountId);
      const session = await openCredentialSession(db, { tenantId, accountId, credentialHash: hash });
      if (session) {
        const g = { id: session.grantId, tenant_id: tenantId, account_id: accountId };
        await audit(deps, g, 'credential_holder', 'access.credential_used', { sessionId: session.id }, req.id);
        return reply.code(201).send({ sessionId: session.id, grantId: session.grantId });
      }
      // No session: a credential that exists but is foreign, revoked or expired is audited.
      const row = key ? await credentialByHash(db, hash) : undefined;
      if (row && constantTimeEqualHex(row.credential_hash, hash)) {
        await audit(
          deps,
          { id: row.grant_id, tenant_id: row.tenant_id, account_id: row.account_id },
          'credential_holder',
          'access.credential_rejected',
          { presentedFor: `${tenantId}/${accountId}`, revoked: !!row.revoked_at, expired: !row.unexpired },
          req.id,
        );
      }
      throw invalid();
    },
  );
}

export function accessRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  accessRequestRoute(r, deps);
  readRoute(r, deps);
  approvalRoute(r, deps);
  credentialRoute(r, deps);
  revokeRoute(r, deps);
  reviewRoute(r, deps);
  directorySessionRoute(r, deps);
  directoryPasswordSessionRoute(r, deps);
}
