// Recovery (password reset now, MFA reset next): received -> triage -> refused | verifying ->
// awaiting_approval? -> waiting_period? -> awaiting_completion -> finalising -> completed.
// Pure orchestration: every side effect is an activity, every duration comes from policy.
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { createActivities } from '../activities';
import type { Policy } from '../domain/policy';
import { preCompletionTiersMet, triage, type TriageDecision } from '../domain/triage';
import type { Tier, TerminalState } from '../domain/types';
import { isTerminal } from '../domain/types';
import {
  AccountIdKey,
  cancelUpdate,
  linkRedeemedSignal,
  RecoveryKindKey,
  RecoveryStatusKey,
  RiskTierKey,
  statusQuery,
  submitVerificationUpdate,
  TenantIdKey,
  triagedUpdate,
  type CancelRequest,
  type RecoveryStatus,
  type RecoveryWorkflowInput,
  type VerificationResult,
} from './messages';

type Activities = ReturnType<typeof createActivities>;

const acts = wf.proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export interface RecoveryOutcome {
  recoveryId: string;
  state: TerminalState;
  reasons: string[];
}

export async function recoveryWorkflow(input: RecoveryWorkflowInput): Promise<RecoveryOutcome> {
  const { recoveryId, tenantId, accountId, kind } = input;
  const status: RecoveryStatus = {
    recoveryId,
    tenantId,
    accountId,
    kind,
    state: 'received',
    waitingFor: 'triage',
    riskTier: null,
    route: null,
    reasons: [],
    tiers: { required: null, passed: [], failedAttempts: 0, attemptsLeft: null },
    approvals: { required: 0, received: [] },
    deadlines: {},
    currentDeadline: null,
    manualReview: false,
    outcome: null,
  };
  let policy: Policy | null = null;
  let decision: TriageDecision | null = null;
  let triaged = false;
  let cancelled: CancelRequest | null = null;
  let verificationFailed = false;
  // The owner may click faster than the issuing activity completes: remember every redemption.
  const redeemedTokens = new Set<string>();
  let ended = false;
  let currentDeadline: number | null = null;
  let eventSeq = 0;
  const step = (name: string) => `${name}:${++eventSeq}`;

  const snapshot = (): RecoveryStatus => ({
    ...status,
    currentDeadline: currentDeadline === null ? null : new Date(currentDeadline).toISOString(),
  });

  const searchAttributes = (): SearchAttributeUpdatePair[] => {
    const pairs: SearchAttributeUpdatePair[] = [
      { key: TenantIdKey, value: tenantId },
      { key: AccountIdKey, value: accountId },
      { key: RecoveryKindKey, value: kind },
      { key: RecoveryStatusKey, value: status.state },
    ];
    if (status.riskTier) pairs.push({ key: RiskTierKey, value: status.riskTier });
    return pairs;
  };

  const show = () => {
    if (input.searchAttributes) wf.upsertSearchAttributes(searchAttributes());
    wf.setCurrentDetails(`**${kind}** for \`${accountId}\` in \`${tenantId}\`: ${status.state}` + (status.waitingFor ? `, waiting for ${status.waitingFor}` : ''));
  };

  const enter = async (
    state: RecoveryStatus['state'],
    waitingFor: string | null,
    action: string,
    details: Record<string, unknown> = {},
    actor = 'system',
  ) => {
    status.state = state;
    status.waitingFor = waitingFor;
    show();
    await acts.recordTransition({
      recoveryId,
      tenantId,
      step: step(action),
      state,
      action,
      actor,
      details,
      riskTier: status.riskTier,
      route: status.route,
      reasons: status.reasons,
    });
  };

  const end = async (state: TerminalState, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    currentDeadline = null;
    status.outcome = state;
    await enter(state, null, action, details, actor);
    triaged = true;
    ended = true;
  };

  wf.setHandler(statusQuery, snapshot);
  wf.setHandler(triagedUpdate, async () => {
    await wf.condition(() => triaged);
    return snapshot();
  });

  wf.setHandler(
    submitVerificationUpdate,
    async (sub): Promise<VerificationResult> => {
      let passed = false;
      let evidence: string[] = [];
      if (sub.tier === 1) {
        passed = sub.passed;
        evidence = [`${sub.factorsChecked} knowledge factor(s) checked: ${passed ? 'all matched' : 'mismatch'}`];
      } else if (sub.tier === 2) {
        const b = await acts.evaluateBehaviour({ recoveryId });
        passed = b.consistent;
        evidence = b.evidence;
      } else {
        // Tier 3 over email is proven by redeeming the link sent to the registered address.
        evidence = ['tier 3 is proven by redeeming the link sent to the registered address'];
        return { tier: 3, passed: false, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
      }
      const tier = sub.tier as Tier;
      if (passed && !status.tiers.passed.includes(tier)) status.tiers.passed.push(tier);
      if (!passed) status.tiers.failedAttempts++;
      const max = policy!.maxFailedVerifications;
      status.tiers.attemptsLeft = Math.max(0, max - status.tiers.failedAttempts);
      if (!passed && status.tiers.failedAttempts >= max) verificationFailed = true;
      await acts.recordVerification({
        recoveryId,
        tenantId,
        accountId,
        step: step('verification'),
        actor: sub.actor,
        tier,
        passed,
        evidence,
      });
      return { tier, passed, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
    },
    {
      validator: (sub) => {
        if (status.state !== 'verifying' || verificationFailed || cancelled) {
          throw wf.ApplicationFailure.create({ type: 'invalid_state', message: `the recovery is ${status.state}, not verifying`, nonRetryable: true });
        }
        if (sub.tier === 2 && status.tiers.passed.includes(2)) {
          throw wf.ApplicationFailure.create({ type: 'already_verified', message: 'tier 2 has already passed', nonRetryable: true });
        }
      },
    },
  );

  wf.setHandler(
    cancelUpdate,
    async (req) => {
      cancelled = req;
      // Answer once the end is recorded, so the caller's next read already sees it.
      await wf.condition(() => ended);
      return snapshot();
    },
    {
      validator: (_req) => {
        if (isTerminal(status.state) || cancelled) {
          throw wf.ApplicationFailure.create({ type: 'invalid_state', message: `the recovery is already ${status.state}`, nonRetryable: true });
        }
        if (status.state === 'finalising') {
          throw wf.ApplicationFailure.create({ type: 'invalid_state', message: 'the recovery is being applied and can no longer be cancelled', nonRetryable: true });
        }
      },
    },
  );

  wf.setHandler(linkRedeemedSignal, ({ tokenId }) => {
    // Only the link issued for the completion stage counts (checked where it is awaited).
    redeemedTokens.add(tokenId);
  });

  const finish = async (): Promise<RecoveryOutcome> => {
    await wf.condition(wf.allHandlersFinished);
    return { recoveryId, state: status.state as TerminalState, reasons: status.reasons.map((r) => r.code) };
  };

  const endIfCancelled = async (): Promise<boolean> => {
    if (!cancelled) return false;
    const c = cancelled as CancelRequest;
    await end('cancelled', 'recovery.cancelled', { via: c.via, reason: c.reason }, c.actor);
    return true;
  };

  // Triage: facts from an activity, the decision from pure domain code.
  show();
  const assessment = await acts.assessRecovery({ recoveryId });
  policy = assessment.policy;
  decision = triage(assessment.facts, policy);
  status.reasons = decision.reasons;
  status.riskTier = decision.riskTier;
  status.manualReview = decision.manualReview;
  if (decision.outcome === 'refused') {
    status.route = decision.route ?? 'customer_it';
    await end('refused', 'recovery.refused', { route: status.route, riskScore: decision.riskScore, signals: assessment.facts.signals });
    if (status.route === 'security') await acts.alertSecurity({ recoveryId, tenantId, step: 'alert-high-risk', reasons: decision.reasons });
    return finish();
  }

  const rule = decision.rule;
  status.tiers.required = rule.tiers;
  status.tiers.attemptsLeft = policy.maxFailedVerifications;
  status.approvals.required = rule.approvals;
  currentDeadline = Date.now() + policy.verificationWindowSeconds * 1000;
  status.deadlines.verifyBy = new Date(currentDeadline).toISOString();
  await enter('verifying', 'identity verification', 'recovery.triaged', {
    riskScore: decision.riskScore,
    manualReview: decision.manualReview,
    rule,
    signals: assessment.facts.signals,
  });
  triaged = true;

  const verified = await wf.condition(
    () => preCompletionTiersMet(rule.tiers, status.tiers.passed, true) || verificationFailed || cancelled !== null,
    policy.verificationWindowSeconds * 1000,
  );
  if (await endIfCancelled()) return finish();
  if (verificationFailed) {
    await end('failed', 'recovery.verification_failed', { failedAttempts: status.tiers.failedAttempts });
    return finish();
  }
  if (!verified) {
    await end('expired', 'recovery.verification_expired', { window: policy.verificationWindowSeconds });
    return finish();
  }

  if (rule.approvals > 0 || rule.waitSeconds > 0) {
    // Approvals and waiting periods arrive with the high-risk issue; until then such recoveries
    // are held for a human, never let through with less than policy requires.
    currentDeadline = Date.now() + policy.approvalDeadlineSeconds * 1000;
    status.deadlines.approveBy = new Date(currentDeadline).toISOString();
    await enter('awaiting_approval', `${rule.approvals} approval(s)`, 'recovery.awaiting_approval', {
      required: rule.approvals,
      waitSeconds: rule.waitSeconds,
    });
    const approved = await wf.condition(() => cancelled !== null, policy.approvalDeadlineSeconds * 1000);
    if (await endIfCancelled()) return finish();
    if (!approved) {
      await end('expired', 'recovery.approval_expired', { deadline: status.deadlines.approveBy });
      return finish();
    }
  }

  // Tier 3: a single-use link to the registered address, never one given in the request.
  const link = await acts.issueRecoveryLink({ recoveryId, step: 'completion-link', purpose: kind, ttlSeconds: policy.tokenTtlSeconds });
  currentDeadline = Date.now() + policy.tokenTtlSeconds * 1000;
  status.deadlines.linkExpiresAt = new Date(currentDeadline).toISOString();
  await enter('awaiting_completion', 'the account owner to use the emailed link', 'recovery.link_issued', {
    tokenId: link.tokenId,
    ttlSeconds: policy.tokenTtlSeconds,
    recipients: link.recipients,
  });

  const redeemed = await wf.condition(() => redeemedTokens.has(link.tokenId) || cancelled !== null, policy.tokenTtlSeconds * 1000);
  if (!redeemed || (cancelled && !redeemedTokens.has(link.tokenId))) {
    await acts.invalidateToken({ tokenId: link.tokenId, reason: cancelled ? 'cancelled' : 'expired' });
    if (await endIfCancelled()) return finish();
    await end('expired', 'recovery.link_expired', { tokenId: link.tokenId });
    return finish();
  }
  if (!status.tiers.passed.includes(3)) status.tiers.passed.push(3);

  currentDeadline = null;
  await enter('finalising', 'the directory update', 'recovery.link_redeemed', { tokenId: link.tokenId }, 'account_owner');
  await acts.applyStagedPassword({ recoveryId, tokenId: link.tokenId });
  const revoked = await acts.revokeSessions({ recoveryId, tenantId, accountId, reason: `${kind} ${recoveryId}` });
  const notified = await acts.notifyAccount({ recoveryId, step: 'notify-completed', template: 'password_changed' });
  await end('completed', 'recovery.completed', { sessionsRevoked: revoked.revoked, addressesNotified: notified.recipients });
  return finish();
}
