// Requesting emergency access: the request's checks (tenant, target account, kind, duration), the
// grant recorded, and its workflow started.
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { AccessWorkflow } from '../../contracts/access';
import { DEFAULT_ACCESS_TIMINGS } from '../../domain/access';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, RiskTierKey, TenantIdKey } from '../../contracts/search-attributes';
import { activeGrantId, cancelUnstartedGrant, insertGrant } from '../../store/grants';
import { getTenant } from '../../store/tenants';
import { newId } from '../../infra/secrets';
import type { AppDeps, Router } from '../deps';
import { ApiError } from '../errors';
import { caseSummary } from '../../domain/public-summary';
import { createAccessGrantSchema, GrantAccepted } from '../schemas';
import { withTemporalDeadline } from '../deadlines';

type CreateBody = z.infer<ReturnType<typeof createAccessGrantSchema>>;

/** The account a request targets and how long the grant lasts, after the request's own checks. */
async function requestedTarget({ db, auth, directoryFor }: AppDeps, req: FastifyRequest, b: CreateBody) {
  await auth.requireTenant(req, b.tenantId, 'access.request');
  const tenant = await getTenant(db, b.tenantId);
  if (!tenant) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
  const accountId = 'accountId' in b.target ? b.target.accountId : tenant.break_glass_account;
  if (!accountId) throw new ApiError(400, 'no_designated_account', 'target: the tenant has no designated break-glass account', { field: 'target' });
  if (!(await (await directoryFor(b.tenantId)).lookup({ tenantId: b.tenantId, accountId })))
    throw new ApiError(404, 'account_not_found', 'target.accountId: no such account in the tenant', { field: 'target.accountId' });
  if (b.kind === 'sso_bypass' && tenant.auth_mode === 'local') {
    throw new ApiError(409, 'sso_bypass_not_applicable', 'kind: the tenant signs in locally; there is no IdP to bypass', { field: 'kind' });
  }
  return { accountId, durationSeconds: b.durationSeconds ?? b.durationMinutes * 60 };
}

/** Starts the recorded grant's workflow; if Temporal refuses, the unstarted row is cancelled. */
async function startGrant(
  deps: AppDeps,
  b: CreateBody,
  g: { id: string; workflowId: string; accountId: string; durationSeconds: number; requestedBy: string },
) {
  const { temporal } = deps;
  const { id, workflowId, accountId, durationSeconds } = g;
  try {
    await withTemporalDeadline(temporal, 'start', () =>
      temporal.workflow.start<AccessWorkflow>('accessGrantWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId,
        workflowIdConflictPolicy: 'FAIL',
        args: [
          {
            grantId: id,
            tenantId: b.tenantId,
            accountId,
            kind: b.kind,
            requestedBy: g.requestedBy,
            durationSeconds,
            timings: DEFAULT_ACCESS_TIMINGS,
            searchAttributes: deps.searchAttributes,
          },
        ],
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
        staticSummary: caseSummary(b.kind, id),
      }),
    );
  } catch (err) {
    await cancelUnstartedGrant(deps.db, id);
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new ApiError(409, 'already_active', 'an emergency access grant of this kind is already open for the account', { id: null });
    throw err;
  }
}

export function accessRequestRoute(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  const CreateAccessGrant = createAccessGrantSchema(deps.config.policyMode);
  r.post(
    '/v1/break-glass',
    {
      onRequest: auth.requireRole('agent', 'admin'),
      schema: { summary: 'Request break-glass or SSO-bypass access', tags: ['break-glass'], body: CreateAccessGrant, response: { 202: GrantAccepted } },
    },
    async (req, reply) => {
      const b = req.body;
      const p = req.principal!;
      const { accountId, durationSeconds } = await requestedTarget(deps, req, b);
      const id = newId('bg');
      const workflowId = `access:${b.tenantId}:${accountId}:${b.kind}`;
      const active = await activeGrantId(db, { tenantId: b.tenantId, accountId, kind: b.kind });
      if (active) throw new ApiError(409, 'already_active', 'an emergency access grant of this kind is already open for the account', { id: active });
      await insertGrant(db, {
        id,
        tenantId: b.tenantId,
        accountId,
        kind: b.kind,
        requestedBy: p.id,
        justification: b.justification,
        ticketRef: b.ticketRef,
        durationSeconds,
        workflowId,
      });
      await startGrant(deps, b, { id, workflowId, accountId, durationSeconds, requestedBy: p.id });
      return reply
        .code(202)
        .header('location', `/v1/break-glass/${id}`)
        .send({
          id,
          kind: b.kind,
          accountId,
          state: 'requested',
          durationSeconds,
          next: b.kind === 'sso_bypass' ? 'the security contact confirms, then two break-glass approvers decide' : 'two break-glass approvers decide',
        });
    },
  );
}
