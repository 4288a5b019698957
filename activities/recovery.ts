// Bookkeeping of a recovery: the facts triage needs, Tier 2, recorded transitions, verification
// outcomes and decisions. Idempotent by a key derived from the recovery id + step. Two concerns,
// each its own factory: what is recorded, and what is assessed.
import { ApplicationFailure } from '@temporalio/activity';
import { resolvePolicy, type Policy, type PolicyOverride } from '../domain/policy';
import { assessBehaviour, type RequestContext } from '../domain/risk';
import type { TriageFacts } from '../domain/triage';
import { isTerminal, type ErrorSource, type RecoveryKind, type RecoveryState, type Urgency } from '../domain/types';
import type { Db } from '../store/db';
import { appendAudit, appendAuditTx, auditEventExists } from '../store/audit';
import { accountActivity, countVerificationOutcome, loginHistoryOf } from '../store/directory';
import { completeGeo } from '../infra/ip-database';
import { assessAndRecord } from '../store/risk';
import { moveRecovery, recentRequestsForAccount } from '../store/recoveries';
import { getTenant } from '../store/tenants';
import { loadRecovery, requireAccount, type ActivityDeps, type Deps } from './deps';
import { currentRunId } from './run';
import type { AuditedStep, DecisionRecord, RecoveryTransition, VerificationRecord } from '../contracts/activities';

async function behaviourOf(db: Db, r: { tenant_id: string; account_id: string; context: unknown }, now: Date) {
  const history = await loginHistoryOf(db, { tenantId: r.tenant_id, accountId: r.account_id });
  return assessBehaviour(
    r.context as RequestContext,
    history.map((h) => ({ ...h, at: new Date(h.at) })),
    now,
  );
}

function recoveryRecords({ db }: ActivityDeps) {
  return {
    /** Moves the read model to a new state and audits the step, atomically and once. */
    async recordTransition(i: RecoveryTransition): Promise<AuditedStep> {
      const eventKey = `${i.recoveryId}:${i.step}`;
      return db.transaction().execute(async (trx) => {
        const terminal = isTerminal(i.state as RecoveryState);
        const r = await moveRecovery(trx, {
          id: i.recoveryId,
          state: i.state,
          terminal,
          riskTier: i.riskTier,
          route: i.route,
          reasons: i.reasons,
          runId: currentRunId(),
        });
        if (!r) throw ApplicationFailure.nonRetryable(`recovery ${i.recoveryId} not found`, 'recovery_not_found');
        const { seq } = await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey,
          actor: i.actor,
          action: i.action,
          target: `account:${r.account_id}`,
          recoveryId: i.recoveryId,
          details: { state: i.state, kind: r.kind, riskTier: i.riskTier, reasons: i.reasons, ...i.details },
        });
        return { eventKey, seq, action: i.action, state: i.state };
      });
    },

    /** Audits a verification result and keeps the account's consecutive-failure counter. */
    async recordVerification(i: VerificationRecord) {
      const key = `${i.recoveryId}:${i.step}`;
      await db.transaction().execute(async (trx) => {
        // Counted once, with its event: a retry finds the step's event and leaves the counter alone.
        if (!i.pending && !(await auditEventExists(trx, key))) await countVerificationOutcome(trx, { tenantId: i.tenantId, accountId: i.accountId }, i.passed);
        // Why anyone is verified at all: the agent's stated reason for the recovery.
        const r = await loadRecovery(trx, i.recoveryId);
        await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey: key,
          actor: i.actor,
          action: i.pending ? 'verification.pending' : i.passed ? 'verification.passed' : 'verification.failed',
          target: `account:${i.accountId}`,
          recoveryId: i.recoveryId,
          details: { tier: i.tier, passed: i.passed, signals: i.evidence, justification: r.reason, ticketRef: r.ticket_ref },
        });
      });
    },

    /** Audits an approval or a denial; the separation-of-duties checks ran in the workflow's validator. */
    async recordDecision(i: DecisionRecord) {
      await appendAudit(db, {
        tenantId: i.tenantId,
        eventKey: `${i.recoveryId}:${i.step}`,
        actor: `principal:${i.principalId}`,
        action: i.decision === 'approve' ? 'approval.granted' : 'approval.denied',
        target: `account:${i.accountId}`,
        recoveryId: i.recoveryId,
        details: { comment: i.comment, approvalsSoFar: i.approvalsSoFar, required: i.required },
      });
    },
  };
}

function recoveryAssessment({ db, directoryFor, ipDatabase }: Deps) {
  return {
    /** Gathers the facts triage needs. Returns no personal data: booleans, counts and codes. */
    async assessRecovery({ recoveryId }: { recoveryId: string }): Promise<{ facts: TriageFacts; policy: Policy }> {
      const r = await loadRecovery(db, recoveryId);
      const tenant = await getTenant(db, r.tenant_id);
      if (!tenant) throw new Error(`tenant ${r.tenant_id} not found`);
      const policy = resolvePolicy(tenant.policy_override as PolicyOverride | null);
      const directory = await directoryFor(r.tenant_id);
      const acct = await directory.lookup({ tenantId: r.tenant_id, accountId: r.account_id });
      const recent = await recentRequestsForAccount(db, r);
      const facts: TriageFacts = {
        kind: r.kind as RecoveryKind,
        tenantAuthMode: tenant.auth_mode,
        account: { exists: false },
        errorSource: r.error_source as ErrorSource,
        urgency: r.urgency as Urgency,
        recentRequestsForAccount: recent,
        signals: [],
      };
      if (acct) {
        const activity = await accountActivity(db, { tenantId: r.tenant_id, accountId: r.account_id });
        facts.account = {
          exists: true,
          role: acct.role,
          authMethod: acct.authMethod,
          active: acct.active,
          consecutiveFailures: activity.consecutiveFailures,
          // Only a directory without them says so: histories keep their old facts.
          ...(directory.knowledgeFactors ? {} : { knowledgeFactors: false }),
        };
        // The same assessment POST /v1/risk/assess gives, as of the request's time, recorded once.
        const ctx = r.context as RequestContext;
        const assessed = await assessAndRecord(db, (ip, given) => completeGeo(ipDatabase, ip, given), {
          tenantId: r.tenant_id,
          accountId: r.account_id,
          kind: r.kind,
          at: new Date(r.created_at),
          ip: ctx.ip,
          deviceId: ctx.deviceId,
          userAgent: ctx.userAgent,
          geo: completeGeo(ipDatabase, ctx.ip, ctx.geo),
          source: `recovery:${r.id}`,
        });
        facts.signals = 'assessment' in assessed ? assessed.assessment.signals : [];
      }
      return { facts, policy };
    },

    /** Tier 2: the request context against the account's login history. */
    async evaluateBehaviour({ recoveryId }: { recoveryId: string }): Promise<{ consistent: boolean; evidence: string[] }> {
      const r = await loadRecovery(db, recoveryId);
      await requireAccount(await directoryFor(r.tenant_id), r.tenant_id, r.account_id);
      const b = await behaviourOf(db, r, new Date());
      return { consistent: b.consistent, evidence: b.evidence };
    },
  };
}

export function createRecoveryActivities(all: Deps) {
  return {
    ...recoveryRecords(all),
    ...recoveryAssessment(all),
  };
}
