// Emergency access over HTTP: request, decide, pick the credential up once, revoke, review; and
// the built-in directory's credential check that shows a credential works or has stopped.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { accessDecideUpdate, accessReviewUpdate, accessRevokeUpdate, accessStatusQuery, credentialFetchedSignal, type AccessStatus, type AccessWorkflow } from '../../contracts/access';
import { ACCESS_DURATION, DEFAULT_ACCESS_TIMINGS, isAccessTerminal } from '../../domain/access';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, RiskTierKey, TenantIdKey } from '../../contracts/search-attributes';
import { appendAudit, appendAuditTx } from '../../store/audit';
import { accountUuid, openAccessSession } from '../../store/directory';
import { activeGrantId, cancelUnstartedGrant, credentialByHash, credentialState, getGrant, insertGrant, pickUpCredential, type GrantRow } from '../../store/grants';
import { getTenant } from '../../store/tenants';
import { grantView } from '../views/grant';
import { constantTimeEqualHex, hmacHex, newId, openSecret } from '../../infra/secrets';
import type { AppDeps } from '../deps';
import { ApiError, toApiError } from '../errors';
import { AccessParams, AccessReviewBody, AccessRevoke, CreateAccessGrant, CredentialOut, Decision, DecisionOut, DirectorySession, GrantAccepted, GrantOut, SessionOut, StateOut } from '../schemas';
import { withTemporalDeadline } from '../deadlines';

const CREDENTIAL = /^bgc_([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/;

export function accessRoutes(app: FastifyInstance, deps: AppDeps) {
  const { db, temporal, auth, config, directoryFor } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function grantInScope(req: FastifyRequest, id: string, action: string) {
    const g = await getGrant(db, id);
    if (!g) throw new ApiError(404, 'not_found', 'id: no such grant', { field: 'id' });
    await auth.requireTenant(req, g.tenant_id, action, {
      target: `account:${g.account_id}`,
      recoveryId: g.id,
      eventKey: `${g.id}:access.denied_out_of_scope:${req.id}:${Date.now()}`,
      notFound: new ApiError(404, 'not_found', 'id: no such grant', { field: 'id' }),
    });
    return g;
  }
  type Grant = GrantRow;

  const auditEvent = (g: Pick<Grant, 'id' | 'tenant_id' | 'account_id'>, actor: string, action: string, details: Record<string, unknown>, reqId: string) => ({
    tenantId: g.tenant_id,
    eventKey: `${g.id}:${action}:${reqId}:${Date.now()}`,
    actor,
    action,
    target: `account:${g.account_id}`,
    recoveryId: g.id,
    details,
  });
  function audit(g: Pick<Grant, 'id' | 'tenant_id' | 'account_id'>, actor: string, action: string, details: Record<string, unknown>, reqId: string) {
    return appendAudit(db, auditEvent(g, actor, action, details, reqId));
  }

  const handle = (g: Grant) => temporal.workflow.getHandle(g.workflow_id, g.run_id ?? undefined);

  async function view(g: Grant) {
    let live: AccessStatus | null = null;
    if (!isAccessTerminal(g.state)) {
      live = await withTemporalDeadline(temporal, 'query', () => handle(g).query(accessStatusQuery)).catch(() => null);
      // The workflow publishes a state only once it is recorded: a terminal one means the row just
      // read has moved since. Read it again, so the answer is of one moment.
      if (live && isAccessTerminal(live.state) && !g.ended_at) g = (await getGrant(db, g.id)) ?? g;
    }
    return grantView(g, live);
  }

  /** An Update whose rejection is audited and mapped in the one place errors are mapped. */
  async function update<T>(req: FastifyRequest, g: Grant, action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await withTemporalDeadline(temporal, 'update', run);
    } catch (err) {
      const e = toApiError(err);
      if (e.status >= 400 && e.status < 500) await audit(g, `principal:${req.principal!.id}`, `${action}.rejected`, { code: e.code }, req.id);
      throw e.code === 'invalid_state' ? new ApiError(409, `${action.split('.')[1]}_closed`, `the grant is ${g.state}`) : e;
    }
  }

  r.post(
    '/v1/break-glass',
    { onRequest: auth.requireRole('agent', 'admin'), schema: { summary: 'Request break-glass or SSO-bypass access', tags: ['break-glass'], body: CreateAccessGrant, response: { 202: GrantAccepted } } },
    async (req, reply) => {
      const b = req.body;
      const p = req.principal!;
      await auth.requireTenant(req, b.tenantId, 'access.request');
      const tenant = await getTenant(db, b.tenantId);
      if (!tenant) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
      const accountId = 'accountId' in b.target ? b.target.accountId : tenant.break_glass_account;
      if (!accountId) throw new ApiError(400, 'no_designated_account', 'target: the tenant has no designated break-glass account', { field: 'target' });
      if (!(await (await directoryFor(b.tenantId)).lookup({ tenantId: b.tenantId, accountId }))) throw new ApiError(404, 'account_not_found', 'target.accountId: no such account in the tenant', { field: 'target.accountId' });
      if (b.kind === 'sso_bypass' && tenant.auth_mode === 'local') {
        throw new ApiError(409, 'sso_bypass_not_applicable', 'kind: the tenant signs in locally; there is no IdP to bypass', { field: 'kind' });
      }
      if (b.durationSeconds !== undefined && config.policyMode !== 'dev') {
        throw new ApiError(400, 'invalid_field', `durationSeconds: only in dev policy mode; use durationMinutes (${ACCESS_DURATION.minMinutes}-${ACCESS_DURATION.maxMinutes})`, { field: 'durationSeconds' });
      }
      const durationSeconds = b.durationSeconds ?? b.durationMinutes * 60;
      const id = newId('bg');
      const workflowId = `access:${b.tenantId}:${accountId}:${b.kind}`;
      const active = await activeGrantId(db, { tenantId: b.tenantId, accountId, kind: b.kind });
      if (active) throw new ApiError(409, 'already_active', 'an emergency access grant of this kind is already open for the account', { id: active });
      await insertGrant(db, { id, tenantId: b.tenantId, accountId, kind: b.kind, requestedBy: p.id, justification: b.justification, ticketRef: b.ticketRef, durationSeconds, workflowId });
      try {
        await withTemporalDeadline(temporal, 'start', () => temporal.workflow.start<AccessWorkflow>('accessGrantWorkflow', {
          taskQueue: deps.taskQueue,
          workflowId,
          workflowIdConflictPolicy: 'FAIL',
          args: [{ grantId: id, tenantId: b.tenantId, accountId, kind: b.kind, requestedBy: p.id, durationSeconds, timings: DEFAULT_ACCESS_TIMINGS, searchAttributes: deps.searchAttributes }],
          ...(deps.searchAttributes
            ? {
                typedSearchAttributes: [
                  { key: TenantIdKey, value: b.tenantId },
                  { key: AccountIdKey, value: accountId },
                  { key: RecoveryKindKey, value: b.kind },
                  { key: RecoveryStatusKey, value: 'requested' },
                  { key: RiskTierKey, value: 'high' },
                ],
              }
            : {}),
          staticSummary: `${b.kind} for ${accountId} in ${b.tenantId} (${id}), ticket ${b.ticketRef}`,
        }));
      } catch (err) {
        await cancelUnstartedGrant(db, id);
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ApiError(409, 'already_active', 'an emergency access grant of this kind is already open for the account', { id: null });
        throw err;
      }
      return reply
        .code(202)
        .header('location', `/v1/break-glass/${id}`)
        .send({ id, kind: b.kind, accountId, state: 'requested', durationSeconds, next: b.kind === 'sso_bypass' ? 'the security contact confirms, then two break-glass approvers decide' : 'two break-glass approvers decide' });
    },
  );

  r.get(
    '/v1/break-glass/:id',
    { onRequest: auth.requireRole('agent', 'admin', 'break_glass_approver', 'reviewer', 'auditor'), schema: { summary: 'Get a grant, its state and deadlines', tags: ['break-glass'], params: AccessParams, response: { 200: GrantOut } } },
    async (req) => view(await grantInScope(req, req.params.id, 'access.get')),
  );

  r.post(
    '/v1/break-glass/:id/approvals',
    { onRequest: auth.requireRole('break_glass_approver', 'approver', 'agent', 'admin', 'reviewer', 'auditor'), schema: { summary: 'Approve or deny a grant', tags: ['break-glass'], params: AccessParams, body: Decision, response: { 200: DecisionOut } } },
    async (req) => {
      const g = await getGrant(db, req.params.id);
      if (!g) throw new ApiError(404, 'not_found', 'id: no such grant', { field: 'id' });
      const p = req.principal!;
      // The validator judges role, scope and separation of duties, here and for direct Updates alike.
      const s = await update(req, g, 'access.approval', () =>
        handle(g).executeUpdate(accessDecideUpdate, { args: [{ principalId: p.id, roles: p.roles, tenantScope: p.tenantScope, decision: req.body.decision, comment: req.body.comment }] }),
      );
      return { id: g.id, counted: true, state: s.state, approvals: s.approvals };
    },
  );

  r.post(
    '/v1/break-glass/:id/credential',
    { onRequest: auth.requireRole('agent', 'admin'), config: { secretResponse: true }, schema: { summary: 'Pick the credential up: once, by the requester', tags: ['break-glass'], params: AccessParams, response: { 200: CredentialOut } } },
    async (req, reply) => {
      const g = await grantInScope(req, req.params.id, 'access.credential');
      const p = req.principal!;
      if (p.id !== g.requested_by) {
        await audit(g, `principal:${p.id}`, 'credential.fetch_denied', { reason: 'not the requester' }, req.id);
        throw new ApiError(403, 'not_requester', 'only the requester can pick the credential up');
      }
      const picked = await db.transaction().execute(async (trx) => {
        const picked = await pickUpCredential(trx, g.id);
        if (!picked) return null;
        // Recorded with the pickup: a credential is never handed out without its audit event.
        await appendAuditTx(trx, auditEvent(g, `principal:${p.id}`, 'credential.fetched', { expiresAt: picked.expiresAt.toISOString() }, req.id));
        return picked;
      });
      if (!picked) {
        const cred = await credentialState(db, g.id);
        const code = !cred ? 'credential_not_issued' : cred.fetched_at ? 'credential_already_fetched' : 'credential_revoked';
        await audit(g, `principal:${p.id}`, 'credential.fetch_refused', { code }, req.id);
        throw new ApiError(409, code, code === 'credential_not_issued' ? 'the credential is not issued yet' : code === 'credential_already_fetched' ? 'the credential was already picked up; it is shown once' : 'the credential has been revoked');
      }
      await withTemporalDeadline(temporal, 'signal', () => handle(g).signal(credentialFetchedSignal)).catch(() => undefined);
      return reply.header('cache-control', 'no-store').send({
        id: g.id,
        accountId: g.account_id,
        credential: openSecret(config.tokenKeys[0].key, `pickup:${g.id}`, picked.sealed),
        expiresAt: picked.expiresAt.toISOString(),
        note: 'Shown once. It stops working at expiresAt or when revoked, and every session opened with it ends then.',
      });
    },
  );

  r.post(
    '/v1/break-glass/:id/revoke',
    { onRequest: auth.requireRole('agent', 'admin', 'break_glass_approver'), schema: { summary: 'Revoke a grant early', tags: ['break-glass'], params: AccessParams, body: AccessRevoke, response: { 200: StateOut } } },
    async (req) => {
      const g = await grantInScope(req, req.params.id, 'access.revoke');
      const s = await update(req, g, 'access.revoke', () => handle(g).executeUpdate(accessRevokeUpdate, { args: [{ actor: `principal:${req.principal!.id}`, reason: req.body.reason }] }));
      return { id: g.id, state: s.state, credential: s.credential };
    },
  );

  r.post(
    '/v1/break-glass/:id/review',
    { onRequest: auth.requireRole('reviewer', 'agent', 'admin', 'break_glass_approver', 'approver', 'auditor'), schema: { summary: 'Record the post-action review', tags: ['break-glass'], params: AccessParams, body: AccessReviewBody, response: { 200: StateOut } } },
    async (req) => {
      const g = await getGrant(db, req.params.id);
      if (!g) throw new ApiError(404, 'not_found', 'id: no such grant', { field: 'id' });
      const p = req.principal!;
      const s = await update(req, g, 'access.review', () =>
        handle(g).executeUpdate(accessReviewUpdate, { args: [{ principalId: p.id, roles: p.roles, tenantScope: p.tenantScope, outcome: req.body.outcome, notes: req.body.notes }] }),
      );
      return { id: g.id, state: s.state, review: s.review };
    },
  );

  // The built-in directory's sign-in with an emergency credential: proof that it works, and stops.
  r.post(
    '/v1/directory/sessions',
    { schema: { summary: 'Sign in to the built-in directory with an emergency credential', tags: ['directory'], body: DirectorySession, response: { 201: SessionOut } } },
    async (req, reply) => {
      const { tenantId, accountId, credential } = req.body;
      const invalid = () => new ApiError(401, 'invalid_credential', 'credential: not valid for this account now', { field: 'credential' });
      const m = CREDENTIAL.exec(credential);
      const key = m && config.tokenKeys.find((k) => k.id === m[1]);
      const hash = key ? hmacHex(key.key, credential) : '0'.repeat(64);
      const row = await credentialByHash(db, hash);
      if (!key || !row || !constantTimeEqualHex(row.credential_hash, hash)) throw invalid();
      const g = { id: row.grant_id, tenant_id: row.tenant_id, account_id: row.account_id };
      // The credential row decides: issued only after approval, revoked at TTL or on demand.
      if (row.tenant_id !== tenantId || row.account_id !== accountId || row.revoked_at || !row.unexpired) {
        await audit(g, 'credential_holder', 'access.credential_rejected', { presentedFor: `${tenantId}/${accountId}`, revoked: !!row.revoked_at, expired: !row.unexpired }, req.id);
        throw invalid();
      }
      const acct = await accountUuid(db, { tenantId, accountId });
      if (!acct) throw invalid();
      const sessionId = await openAccessSession(db, acct, row.grant_id);
      await audit(g, 'credential_holder', 'access.credential_used', { sessionId }, req.id);
      return reply.code(201).send({ sessionId, grantId: row.grant_id });
    },
  );
}
