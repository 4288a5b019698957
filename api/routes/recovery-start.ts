// Starting a recovery: the request recorded with its rate-limit slot and audit event in one
// transaction, the workflow started, and triage's answer (or a poll link) returned.
import type { z } from 'zod';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { triagedUpdate, type RecoveryStatus, type RecoveryWorkflow } from '../../contracts/recovery';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, TenantIdKey } from '../../contracts/search-attributes';
import { resolvePolicy, type PolicyOverride } from '../../domain/policy';
import { appendAuditTx } from '../../store/audit';
import { newId } from '../../infra/secrets';
import type { AppDeps, Router } from '../deps';
import { getRecovery, insertRecoveryWithinLimit, markStartFailed } from '../../store/recoveries';
import { getTenant } from '../../store/tenants';
import { nextStep } from '../views/recovery';
import { ApiError } from '../errors';
import { caseSummary } from '../../domain/public-summary';
import { CreateRecovery, RecoveryAccepted, RecoveryRefused } from '../schemas';
import { withTemporalDeadline } from '../deadlines';

/** The triage answer normally takes milliseconds; past this the caller polls GET instead. */
const TRIAGE_WAIT_MS = 10_000;

type CreateBody = z.infer<typeof CreateRecovery>;

/**
 * Records a request in one transaction, before anything runs: the per-IP slot, the recovery row
 * and its `recovery.requested` event, or the `recovery.rate_limited` event. Six round trips
 * (BEGIN and COMMIT included) and one commit.
 */
async function recordRequest({ db }: AppDeps, b: CreateBody, id: string, workflowId: string, principalId: string, limit: number, eventKey: string) {
  const actor = `principal:${principalId}`;
  return db.transaction().execute(async (trx) => {
    const outcome = await insertRecoveryWithinLimit(
      trx,
      {
        id,
        tenantId: b.tenantId,
        accountId: b.accountId,
        kind: b.kind,
        requestedBy: principalId,
        reason: b.reason,
        ticketRef: b.ticketRef ?? null,
        errorSource: b.errorSource,
        urgency: b.urgency,
        context: b.context,
        workflowId,
      },
      limit,
    );
    if (!outcome.slotted) {
      await appendAuditTx(trx, {
        tenantId: b.tenantId,
        eventKey: `rate-limited:${eventKey}`,
        actor,
        action: 'recovery.rate_limited',
        target: `account:${b.accountId}`,
        details: { limit: `${limit} per hour per IP`, kind: b.kind },
      });
    } else if (outcome.inserted) {
      await appendAuditTx(trx, {
        tenantId: b.tenantId,
        eventKey: `${id}:requested`,
        actor,
        action: 'recovery.requested',
        target: `account:${b.accountId}`,
        recoveryId: id,
        details: { kind: b.kind, reason: b.reason, ticketRef: b.ticketRef ?? null, errorSource: b.errorSource, urgency: b.urgency },
      });
    }
    return outcome;
  });
}

/** Starts the recorded recovery's workflow; if Temporal refuses, the row ends as failed, audited. */
async function startRecovery(deps: AppDeps, b: CreateBody, id: string, workflowId: string, requestedBy: string) {
  const { db, temporal } = deps;
  try {
    return await withTemporalDeadline(temporal, 'start', () =>
      temporal.workflow.start<RecoveryWorkflow>('recoveryWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId,
        workflowIdConflictPolicy: 'FAIL',
        args: [{ recoveryId: id, tenantId: b.tenantId, accountId: b.accountId, kind: b.kind, requestedBy, searchAttributes: deps.searchAttributes }],
        ...(deps.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: TenantIdKey, value: b.tenantId },
                { key: AccountIdKey, value: b.accountId },
                { key: RecoveryKindKey, value: b.kind },
                { key: RecoveryStatusKey, value: 'received' },
              ],
            }
          : {}),
        staticSummary: caseSummary(b.kind, id),
      }),
    );
  } catch (err) {
    // Nothing started: leave no active row behind, and say so in the audit log.
    await db.transaction().execute(async (trx) => {
      await markStartFailed(trx, id);
      await appendAuditTx(trx, {
        tenantId: b.tenantId,
        eventKey: `${id}:start_failed`,
        actor: 'system',
        action: 'recovery.start_failed',
        target: `account:${b.accountId}`,
        recoveryId: id,
        details: { error: (err as Error).name },
      });
    });
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ApiError(409, 'already_active', 'a recovery of this kind is already active for this account', { id: null });
    }
    throw err;
  }
}

export function recoveryStartRoute(r: Router, deps: AppDeps) {
  const { db, temporal, auth } = deps;
  r.post(
    '/v1/recoveries',
    {
      onRequest: auth.requireRole('agent'),
      schema: { summary: 'Start a recovery', tags: ['recoveries'], body: CreateRecovery, response: { 200: RecoveryRefused, 202: RecoveryAccepted } },
    },
    async (req, reply) => {
      const b = req.body;
      await auth.requireTenant(req, b.tenantId, 'recovery.create');
      const tenant = await getTenant(db, b.tenantId);
      if (!tenant) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
      const policy = resolvePolicy(tenant.policy_override as PolicyOverride | null);

      const id = newId('rec');
      const workflowId = `recovery:${b.tenantId}:${b.accountId}:${b.kind}`;
      const limit = policy.rateLimits.perIpPerHour;
      const recorded = await recordRequest(deps, b, id, workflowId, req.principal!.id, limit, `${req.id}:${Date.now()}`);
      if (!recorded.slotted) {
        throw new ApiError(
          429,
          'rate_limited',
          `context.ip: more than ${limit} recovery requests from this IP in an hour`,
          { field: 'context.ip' },
          { 'retry-after': '3600' },
        );
      }
      if (!recorded.inserted) {
        throw new ApiError(409, 'already_active', 'a recovery of this kind is already active for this account', { id: recorded.existing });
      }
      const handle = await startRecovery(deps, b, id, workflowId, req.principal!.id);
      // run_id is written by the run's first recorded transition (activities/run.ts).

      let status: RecoveryStatus | null = null;
      let refused: Pick<RecoveryStatus, 'route' | 'reasons'> | null = null;
      try {
        status = await temporal.withAbortSignal(AbortSignal.timeout(TRIAGE_WAIT_MS), () => handle.executeUpdate(triagedUpdate));
        if (status.state === 'refused') refused = status;
      } catch (err) {
        // A refusal can close the workflow before the update reaches it (triage runs as local
        // activities inside the first workflow task): what was recorded answers instead.
        const row = await getRecovery(db, id);
        if (row?.state === 'refused') refused = { route: row.route as RecoveryStatus['route'], reasons: row.reasons };
        else deps.log.warn({ recoveryId: id, err: (err as Error).message }, 'triage answer not available yet');
      }
      if (refused) {
        return reply.code(200).send({ id, status: 'refused', route: refused.route ?? 'customer_it', reasons: refused.reasons });
      }
      return reply
        .code(202)
        .header('location', `/v1/recoveries/${id}`)
        .send({
          id,
          status: status?.state ?? 'received',
          riskTier: status?.riskTier ?? null,
          manualReview: status?.manualReview ?? false,
          next: status ? nextStep(status) : { action: 'poll', href: `/v1/recoveries/${id}` },
        });
    },
  );
}
