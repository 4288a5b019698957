// Recoveries once started (see recovery-start.ts): reads of the read model with the workflow's
// live status, verification, cancellation and decisions. One function per route; what several
// routes share (the scoped load, the live status) sits above them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cancelUpdate, decideUpdate, statusQuery, submitVerificationUpdate, type RecoveryStatus } from '../../contracts/recovery';
import { isTerminal, type RecoveryState } from '../../domain/types';
import { resolvePolicy, type PolicyOverride } from '../../domain/policy';
import { appendAudit } from '../../store/audit';
import { getTenant } from '../../store/tenants';
import { attest, principalFacts } from '../attest';
import { accountUuid } from '../../store/directory';
import { checkTotpCode } from '../totp-check';
import { typed, type AppDeps, type Router } from '../deps';
import { getRecovery, listRecoveries, type RecoveryRow } from '../../store/recoveries';
import { nextStep, recoveryView } from '../views/recovery';
import { ApiError, toApiError } from '../errors';
import {
  CancelBody,
  Decision,
  DecisionOut,
  IdParams,
  ListRecoveriesQuery,
  RecoveryList,
  RecoveryDetailOut,
  StateOut,
  Verification,
  VerificationOut,
} from '../schemas';
import { withTemporalDeadline } from '../deadlines';
import { recoveryStartRoute } from './recovery-start';
import { assertSeparation } from '../separation';

/** A recovery of the caller's tenants; another tenant's answers like a missing one (and is audited). */
export async function loadInScope({ db, auth }: AppDeps, req: FastifyRequest, id: string, action: string) {
  const row = await getRecovery(db, id);
  if (!row) throw new ApiError(404, 'not_found', 'id: no such recovery', { field: 'id' });
  // Same answer as a missing id: another tenant's recoveries are not even confirmed to exist.
  await auth.requireTenant(req, row.tenant_id, action, {
    target: `recovery:${row.id}`,
    recoveryId: row.id,
    notFound: new ApiError(404, 'not_found', 'id: no such recovery', { field: 'id' }),
  });
  return row;
}

/** The workflow's status query, or null (ended, or Temporal did not answer in time). */
async function liveStatus({ temporal, log }: AppDeps, row: RecoveryRow): Promise<RecoveryStatus | null> {
  if (isTerminal(row.state as RecoveryState)) return null;
  try {
    return await withTemporalDeadline(temporal, 'query', () => temporal.workflow.getHandle(row.workflow_id, row.run_id ?? undefined).query(statusQuery));
  } catch (err) {
    log.warn({ recoveryId: row.id, err: (err as Error).message }, 'status query failed; answering from the read model');
    return null;
  }
}

const handleOf = ({ temporal }: AppDeps, row: RecoveryRow) => temporal.workflow.getHandle(row.workflow_id, row.run_id ?? undefined);

/** What an attestation binds a message to. */
const caseOf = (row: RecoveryRow) => ({ tenantId: row.tenant_id, caseId: row.id, workflowId: row.workflow_id });

function readRoutes(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  r.get(
    '/v1/recoveries/:id',
    {
      onRequest: auth.requireRole('agent', 'approver', 'auditor', 'admin'),
      schema: { summary: 'Get a recovery', tags: ['recoveries'], params: IdParams, response: { 200: RecoveryDetailOut } },
    },
    async (req) => {
      let row = await loadInScope(deps, req, req.params.id, 'recovery.get');
      const live = await liveStatus(deps, row);
      // A workflow publishes a state only once it is recorded: a terminal state newer than the row
      // just read means the row has moved since. Read it again, so the answer is of one moment.
      if (live && isTerminal(live.state) && row.ended_at === null) {
        row = (await getRecovery(db, row.id)) ?? row;
      }
      return { ...recoveryView(row, live), next: live ? nextStep(live) : null };
    },
  );

  r.get(
    '/v1/recoveries',
    {
      onRequest: auth.requireRole('agent', 'approver', 'auditor', 'admin'),
      schema: { summary: 'List recoveries of a tenant', tags: ['recoveries'], querystring: ListRecoveriesQuery, response: { 200: RecoveryList } },
    },
    async (req) => {
      const q = req.query;
      await auth.requireTenant(req, q.tenantId, 'recovery.list');
      const rows = await listRecoveries(db, q);
      return {
        items: rows.map((row) => recoveryView(row, null)),
        nextBefore: rows.length === q.limit ? new Date(rows[rows.length - 1].created_at).toISOString() : null,
      };
    },
  );
}

/** The tenant's policy in effect (defaults with its overrides). */
async function tenantPolicy({ db }: AppDeps, tenantId: string) {
  const tenant = await getTenant(db, tenantId);
  return resolvePolicy(tenant?.policy_override as PolicyOverride | null);
}

/**
 * Tier 1 with a required factor unanswered is refused, not failed: nothing was compared, so there
 * is no guess to count, and an incomplete form must not use up the caller's attempts.
 */
function factorsMissing(missing: string[]) {
  const fields = missing.map((name) => `answers.${name}`);
  return new ApiError(400, 'knowledge_factors_missing', `${fields[0]}: required by the tenant's Tier 1 policy`, { field: fields[0], missing: fields });
}

/**
 * Tier 3 by a code from the account's enrolled authenticator: checked here and dropped, its step
 * used up; never for an MFA reset, which resets that very factor.
 */
async function totpSubmission(deps: AppDeps, row: RecoveryRow, actor: string, code: string) {
  if (row.kind === 'mfa_reset')
    throw new ApiError(409, 'channel_not_allowed', 'channel: an MFA reset cannot be verified with the authenticator it resets; use email', {
      field: 'channel',
    });
  const outcome = await checkTotpCode(deps, await accountUuid(deps.db, { tenantId: row.tenant_id, accountId: row.account_id }), code);
  if (outcome === 'no_factor')
    throw new ApiError(409, 'tier_not_available', 'channel: the account has no enrolled authenticator; use email', { field: 'channel' });
  return { tier: 3 as const, actor, channel: 'totp' as const, passed: outcome === 'accepted', reused: outcome === 'reused' };
}

function verificationRoute(r: Router, deps: AppDeps) {
  const { temporal, auth, directoryFor } = deps;
  r.post(
    '/v1/recoveries/:id/verifications',
    {
      onRequest: auth.requireRole('agent'),
      schema: { summary: 'Submit verification evidence', tags: ['recoveries'], params: IdParams, body: Verification, response: { 200: VerificationOut } },
    },
    async (req) => {
      const row = await loadInScope(deps, req, req.params.id, 'recovery.verify');
      if (isTerminal(row.state as RecoveryState)) throw new ApiError(409, 'invalid_state', `the recovery is already ${row.state}`);
      const actor = `principal:${req.principal!.id}`;
      const body = req.body;
      let submission;
      if (body.tier === 1) {
        // Answers are checked here and dropped: only the outcome reaches the workflow.
        const directory = await directoryFor(row.tenant_id);
        if (!directory.knowledgeFactors) {
          throw new ApiError(409, 'tier_not_available', "tier: this tenant's identity system holds no knowledge factors; Tier 2 and Tier 3 are required", {
            field: 'tier',
          });
        }
        const required = (await tenantPolicy(deps, row.tenant_id)).knowledgeFactors;
        const k = await directory.checkKnowledge({ tenantId: row.tenant_id, accountId: row.account_id }, body.answers, required);
        if (k.missing.length) throw factorsMissing(k.missing);
        submission = { tier: 1 as const, actor, passed: k.passed, factorsChecked: k.factorsChecked };
      } else if (body.tier === 2) {
        submission = { tier: 2 as const, actor };
      } else if (body.channel === 'totp') {
        submission = await totpSubmission(deps, row, actor, body.code);
      } else {
        submission = { tier: 3 as const, actor, channel: body.channel };
      }
      const attested = await attest(deps, { ...caseOf(row), kind: 'recovery.verify', principal: principalFacts(req), message: submission });
      const result = await withTemporalDeadline(temporal, 'update', () =>
        handleOf(deps, row).executeUpdate(submitVerificationUpdate, { args: [{ ...attested, tier: submission.tier }] }),
      );
      const live = await liveStatus(deps, { ...row, state: 'verifying' });
      return { ...result, recovery: live ? { state: live.state, next: nextStep(live) } : null };
    },
  );
}

function cancelRoute(r: Router, deps: AppDeps) {
  const { temporal, auth } = deps;
  r.post(
    '/v1/recoveries/:id/cancel',
    {
      onRequest: auth.requireRole('agent', 'admin'),
      schema: { summary: 'Cancel a recovery', tags: ['recoveries'], params: IdParams, body: CancelBody, response: { 200: StateOut } },
    },
    async (req) => {
      const row = await loadInScope(deps, req, req.params.id, 'recovery.cancel');
      if (isTerminal(row.state as RecoveryState)) throw new ApiError(409, 'invalid_state', `the recovery is already ${row.state}`);
      const message = { actor: `principal:${req.principal!.id}`, via: 'agent' as const, reason: req.body.reason };
      const attested = await attest(deps, { ...caseOf(row), kind: 'recovery.cancel', principal: principalFacts(req), message });
      const s = await withTemporalDeadline(temporal, 'update', () => handleOf(deps, row).executeUpdate(cancelUpdate, { args: [attested] }));
      return { id: row.id, state: s.state };
    },
  );
}

function approvalRoute(r: Router, deps: AppDeps) {
  const { db, temporal, auth } = deps;
  r.post(
    '/v1/recoveries/:id/approvals',
    {
      onRequest: auth.requireRole('approver', 'agent', 'admin', 'auditor', 'reviewer', 'break_glass_approver'),
      schema: { summary: 'Approve or deny a recovery', tags: ['recoveries'], params: IdParams, body: Decision, response: { 200: DecisionOut } },
    },
    async (req) => {
      // Scope first: another tenant's recovery answers like a missing one, whatever its state.
      const row = await loadInScope(deps, req, req.params.id, 'recovery.approve');
      const p = req.principal!;
      await assertSeparation(deps, req, {
        act: 'recovery_approval',
        id: row.id,
        tenantId: row.tenant_id,
        accountId: row.account_id,
        requestedBy: row.requested_by,
      });
      const { decision, comment } = req.body;
      // The rules on keys (role, scope, requester, account binding) are the workflow's, judged on
      // the facts recorded here (the principal as loaded from Postgres); a decision sent straight
      // to Temporal has none.
      try {
        // An ended case answers from the read model: one that never started has no run, and its
        // workflow id may name another case's run.
        if (isTerminal(row.state as RecoveryState)) throw new ApiError(409, 'invalid_state', `the recovery is ${row.state}`);
        const attested = await attest(deps, { ...caseOf(row), kind: 'recovery.decide', principal: principalFacts(req), message: { decision, comment } });
        const result = await withTemporalDeadline(temporal, 'update', () =>
          handleOf(deps, row).executeUpdate(decideUpdate, { args: [{ ...attested, decision, comment }] }),
        );
        return { id: row.id, ...result };
      } catch (err) {
        const e = toApiError(err);
        if (e.status >= 400 && e.status < 500) {
          await appendAudit(db, {
            tenantId: row.tenant_id,
            eventKey: `decision-rejected:${req.id}:${Date.now()}`,
            actor: `principal:${p.id}`,
            action: 'approval.rejected',
            target: `account:${row.account_id}`,
            recoveryId: row.id,
            details: { code: e.code, decision: req.body.decision },
          });
        }
        if (e.code === 'invalid_state') throw new ApiError(409, 'approval_closed', `the recovery is ${row.state}: decisions are closed`);
        throw e;
      }
    },
  );
}

export function recoveryRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  recoveryStartRoute(r, deps);
  readRoutes(r, deps);
  verificationRoute(r, deps);
  cancelRoute(r, deps);
  approvalRoute(r, deps);
}
