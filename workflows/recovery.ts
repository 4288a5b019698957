// Recovery (password reset, MFA reset): received -> triage -> refused | verifying ->
// awaiting_approval? -> waiting_period? -> awaiting_completion -> finalising -> completed.
// Pure orchestration: every side effect is an activity, every duration comes from policy.
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { LinkRequest } from '../contracts/activities';
import type { Policy } from '../domain/policy';
import { preCompletionTiersMet, triage, type TriageDecision } from '../domain/triage';
import type { Tier, TerminalState } from '../domain/types';
import { isTerminal } from '../domain/types';
import { coversTenant } from '../domain/scope';
import { isDeliveryRefused } from './delivery';
import { acts, bookkeeping } from './proxies';
import {
  cancelUpdate,
  decideUpdate,
  linkRedeemedSignal,
  statusQuery,
  submitVerificationUpdate,
  triagedUpdate,
  type ApprovalRequest,
  type CancelRequest,
  type RecoveryOutcome,
  type RecoveryStatus,
  type RecoveryWorkflowInput,
  type VerificationResult,
} from '../contracts/recovery';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, RiskTierKey, TenantIdKey } from '../contracts/search-attributes';

/** Reminders go out when this share of a deadline has passed. */
const REMINDER_AT = 0.75;

const reject = (type: string, message: string) => wf.ApplicationFailure.create({ type, message, nonRetryable: true });

export async function recoveryWorkflow(input: RecoveryWorkflowInput): Promise<RecoveryOutcome> {
  const { recoveryId, tenantId, accountId, kind, requestedBy } = input;
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
  let ended = false;
  // The end is being recorded: nothing can be cancelled any more.
  let closing = false;
  const recordFirst = wf.patched('record-transition-before-publishing');
  const books = bookkeeping();
  let applied = false;
  let cancelled: CancelRequest | null = null;
  let verificationFailed = false;
  let possessionLinkId: string | null = null;
  // Set when a link could not be delivered: the recovery cannot go on without it.
  let deliveryFailed: { purpose: string; step: string } | null = null;
  // The owner may click faster than the issuing activity completes: remember every redemption.
  const redeemedTokens = new Set<string>();
  let currentDeadline: number | null = null;
  let eventSeq = 0;
  const step = (name: string) => `${name}:${++eventSeq}`;
  const approvalsIn = () => status.approvals.received.filter((a) => a.decision === 'approve').length;
  const denied = () => status.approvals.received.some((a) => a.decision === 'deny');

  const snapshot = (): RecoveryStatus => ({
    ...status,
    currentDeadline: currentDeadline === null ? null : new Date(currentDeadline).toISOString(),
  });

  const show = () => {
    if (input.searchAttributes) {
      const pairs: SearchAttributeUpdatePair[] = [
        { key: TenantIdKey, value: tenantId },
        { key: AccountIdKey, value: accountId },
        { key: RecoveryKindKey, value: kind },
        { key: RecoveryStatusKey, value: status.state },
      ];
      if (status.riskTier) pairs.push({ key: RiskTierKey, value: status.riskTier });
      wf.upsertSearchAttributes(pairs);
    }
    wf.setCurrentDetails(`**${kind}** for \`${accountId}\` in \`${tenantId}\`: ${status.state}` + (status.waitingFor ? `, waiting for ${status.waitingFor}` : ''));
  };

  const setDeadline = (key: keyof RecoveryStatus['deadlines'] | null, seconds: number | null) => {
    currentDeadline = seconds === null ? null : Date.now() + seconds * 1000;
    if (key && currentDeadline !== null) status.deadlines[key] = new Date(currentDeadline).toISOString();
  };

  const enter = async (state: RecoveryStatus['state'], waitingFor: string | null, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    const publish = () => {
      status.state = state;
      status.waitingFor = waitingFor;
      show();
    };
    // Histories from before the patch published the state first, so a query could be a moment
    // ahead of the audit log; now nothing is shown that is not recorded.
    if (!recordFirst) publish();
    await books.recordTransition({
      recoveryId,
      tenantId,
      step: step(action),
      state,
      action,
      actor,
      // The workflow's clock: on a time-skipping server it differs from the audit's wall clock.
      details: { ...details, workflowTime: new Date().toISOString() },
      riskTier: status.riskTier,
      route: status.route,
      reasons: status.reasons,
    });
    if (recordFirst) publish();
  };

  const end = async (state: TerminalState, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    closing = true;
    currentDeadline = null;
    if (!recordFirst) status.outcome = state;
    await enter(state, null, action, details, actor);
    status.outcome = state;
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
      // On replay validators do not run, and an update accepted in the same task as the triage
      // result can reach this handler before `policy` is set: wait for it (no command if set).
      await wf.condition(() => policy !== null);
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
        if (kind === 'password_reset') {
          // Tier 3 for a password reset is the completion link itself.
          evidence = ['tier 3 is proven by redeeming the reset link sent to the registered address'];
          return { tier: 3, passed: false, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
        }
        // An MFA reset proves possession early, over email: never over the factor being reset.
        const link = await sendLink({ recoveryId, step: step('possession-link'), purpose: 'verify_possession', ttlSeconds: policy!.tokenTtlSeconds, to: 'primary' });
        if (!link) {
          evidence = ['the possession link could not be delivered to the registered address'];
          return { tier: 3, passed: false, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
        }
        possessionLinkId = link.tokenId;
        evidence = ['a possession link was sent to the registered address; tier 3 passes when it is used'];
        await acts.recordVerification({ recoveryId, tenantId, accountId, step: step('verification'), actor: sub.actor, tier: 3, passed: false, pending: true, evidence });
        return { tier: 3, passed: false, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
      }
      const tier = sub.tier as Tier;
      if (passed && !status.tiers.passed.includes(tier)) status.tiers.passed.push(tier);
      if (!passed) status.tiers.failedAttempts++;
      const max = policy!.maxFailedVerifications;
      status.tiers.attemptsLeft = Math.max(0, max - status.tiers.failedAttempts);
      if (!passed && status.tiers.failedAttempts >= max) verificationFailed = true;
      await acts.recordVerification({ recoveryId, tenantId, accountId, step: step('verification'), actor: sub.actor, tier, passed, evidence });
      return { tier, passed, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
    },
    {
      validator: (sub) => {
        if (status.state !== 'verifying' || verificationFailed || cancelled || deliveryFailed) throw reject('invalid_state', `the recovery is ${status.state}, not verifying`);
        if (sub.tier !== 1 && status.tiers.passed.includes(sub.tier)) throw reject('already_verified', `tier ${sub.tier} has already passed`);
      },
    },
  );

  wf.setHandler(
    decideUpdate,
    async (req) => {
      status.approvals.received.push({ principalId: req.principalId, decision: req.decision, comment: req.comment, at: new Date().toISOString() });
      await acts.recordDecision({
        recoveryId,
        tenantId,
        accountId,
        step: step('decision'),
        principalId: req.principalId,
        decision: req.decision,
        comment: req.comment,
        approvalsSoFar: approvalsIn(),
        required: status.approvals.required,
      });
      return { counted: true, decision: req.decision, approvals: { ...status.approvals }, state: status.state };
    },
    {
      // Separation of duties (invariant 3), checked before the decision enters history.
      validator: (req: ApprovalRequest) => {
        if (status.state !== 'awaiting_approval' || cancelled || denied() || approvalsIn() >= status.approvals.required) {
          throw reject('approval_closed', `the recovery is ${status.state}: decisions are closed`);
        }
        if (currentDeadline !== null && Date.now() >= currentDeadline) throw reject('approval_closed', 'the approval deadline has passed');
        if (req.principalId === requestedBy) throw reject('requester_cannot_approve', 'the requester of a recovery never approves it');
        if (req.account && req.account.tenantId === tenantId && req.account.accountId === accountId) {
          throw reject('owner_cannot_approve', 'the account owner never approves their own recovery');
        }
        if (!coversTenant(req.tenantScope, tenantId)) throw reject('approver_out_of_scope', "the approver's scope does not include this tenant");
        if (!req.roles.includes('approver')) throw reject('approver_lacks_role', 'deciding needs the approver role');
        if (status.approvals.received.some((a) => a.principalId === req.principalId)) throw reject('already_decided', 'this approver has already decided');
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
        if (isTerminal(status.state) || closing || cancelled) throw reject('invalid_state', `the recovery is already ${closing ? 'ending' : status.state}`);
        if (status.state === 'finalising' || applied) throw reject('invalid_state', 'the recovery has been applied and can no longer be cancelled');
      },
    },
  );

  wf.setHandler(linkRedeemedSignal, async ({ tokenId }) => {
    // The signal is a hint sent before the API's COMMIT: Postgres says whether the link is used.
    if (recordFirst && !(await acts.confirmRedemption({ tokenId, workflowId: wf.workflowInfo().workflowId })).used) return;
    // Which link counts is decided where it is awaited; a stray id changes nothing.
    redeemedTokens.add(tokenId);
    if (tokenId === possessionLinkId && status.state === 'verifying' && !status.tiers.passed.includes(3)) status.tiers.passed.push(3);
  });

  /** Issues a link; a permanent delivery refusal returns null and sets `deliveryFailed`. */
  const sendLink = async (args: LinkRequest) => {
    try {
      return await acts.issueLink(args);
    } catch (err) {
      if (!isDeliveryRefused(err)) throw err;
      deliveryFailed = { purpose: args.purpose, step: args.step };
      return null;
    }
  };
  const endUndelivered = () => end('failed', 'recovery.delivery_failed', { ...deliveryFailed, note: 'the mail server refused the link permanently; the token is invalidated' });

  const finish = async (): Promise<RecoveryOutcome> => {
    await wf.condition(wf.allHandlersFinished);
    return { recoveryId, state: status.state as TerminalState, reasons: status.reasons.map((r) => r.code) };
  };

  // Notices go out before the terminal state is recorded: once it is, the workflow closes and
  // the same account may start a new recovery at once.
  const endCancelled = async () => {
    const c = cancelled as unknown as CancelRequest;
    await acts.alertSecurity({ recoveryId, tenantId, step: 'alert-cancelled', template: 'recovery_cancelled', reasons: [{ code: `cancelled_by_${c.via}`, detail: c.reason }] });
    await end('cancelled', 'recovery.cancelled', { via: c.via, reason: c.reason }, c.actor);
  };

  /** Waits for `done` or the deadline, sending one reminder when most of the time has passed. */
  const awaitWithReminder = async (done: () => boolean, seconds: number, remind: () => Promise<unknown>): Promise<boolean> => {
    const first = Math.floor(seconds * REMINDER_AT * 1000);
    if (await wf.condition(done, first)) return true;
    await remind();
    return wf.condition(done, seconds * 1000 - first);
  };

  // Triage: facts from an activity, the decision from pure domain code.
  show();
  const assessment = await books.assessRecovery({ recoveryId });
  policy = assessment.policy;
  decision = triage(assessment.facts, policy);
  status.reasons = decision.reasons;
  status.riskTier = decision.riskTier;
  status.manualReview = decision.manualReview;
  if (decision.outcome === 'refused') {
    status.route = decision.route ?? 'customer_it';
    if (status.route === 'security') await acts.alertSecurity({ recoveryId, tenantId, step: 'alert-high-risk', template: 'security_alert', reasons: decision.reasons });
    await end('refused', 'recovery.refused', { route: status.route, riskScore: decision.riskScore, signals: assessment.facts.signals });
    return finish();
  }

  const rule = decision.rule;
  const tier3ViaCompletionLink = kind === 'password_reset';
  status.tiers.required = rule.tiers;
  status.tiers.attemptsLeft = policy.maxFailedVerifications;
  status.approvals.required = rule.approvals;
  setDeadline('verifyBy', policy.verificationWindowSeconds);
  await enter('verifying', 'identity verification', 'recovery.triaged', {
    riskScore: decision.riskScore,
    manualReview: decision.manualReview,
    rule,
    signals: assessment.facts.signals,
  });
  triaged = true;

  // Verification.
  const verified = await wf.condition(
    () => preCompletionTiersMet(rule.tiers, status.tiers.passed, tier3ViaCompletionLink) || verificationFailed || cancelled !== null || deliveryFailed !== null,
    policy.verificationWindowSeconds * 1000,
  );
  if (possessionLinkId && !status.tiers.passed.includes(3)) await acts.invalidateToken({ tokenId: possessionLinkId, reason: 'verification_over' });
  if (cancelled) {
    await endCancelled();
    return finish();
  }
  if (verificationFailed) {
    await end('failed', 'recovery.verification_failed', { failedAttempts: status.tiers.failedAttempts });
    return finish();
  }
  if (deliveryFailed) {
    await endUndelivered();
    return finish();
  }
  if (!verified) {
    await end('expired', 'recovery.verification_expired', { windowSeconds: policy.verificationWindowSeconds });
    return finish();
  }

  // Approvals: Updates with validators; a deny ends the recovery.
  if (rule.approvals > 0) {
    setDeadline('approveBy', policy.approvalDeadlineSeconds);
    await enter('awaiting_approval', `${rule.approvals} approval(s)`, 'recovery.awaiting_approval', { required: rule.approvals, approveBy: status.deadlines.approveBy });
    await acts.notifyApprovers({ recoveryId, step: 'approvers-requested', template: 'approval_needed', required: rule.approvals });
    const decided = () => approvalsIn() >= rule.approvals || denied() || cancelled !== null;
    const inTime = await awaitWithReminder(decided, policy.approvalDeadlineSeconds, () =>
      acts.notifyApprovers({ recoveryId, step: 'approvers-reminded', template: 'approval_reminder', required: rule.approvals }),
    );
    if (cancelled) {
      await endCancelled();
      return finish();
    }
    if (denied()) {
      const by = status.approvals.received.find((a) => a.decision === 'deny')!;
      await acts.notifyRequester({ recoveryId, step: 'requester-denied', template: 'decision_denied' });
      await end('denied', 'recovery.denied', { deniedBy: by.principalId, comment: by.comment, approvals: status.approvals.received }, `principal:${by.principalId}`);
      return finish();
    }
    if (!inTime) {
      await acts.notifyRequester({ recoveryId, step: 'requester-expired', template: 'decision_expired' });
      await end('expired', 'recovery.approval_expired', { approveBy: status.deadlines.approveBy, approvals: status.approvals.received });
      return finish();
    }
    await acts.notifyRequester({ recoveryId, step: 'requester-approved', template: 'decision_approved' });
  }

  // Waiting period: the owner can stop it from any registered address until it ends.
  if (rule.waitSeconds > 0) {
    setDeadline('waitUntil', rule.waitSeconds);
    await enter('waiting_period', 'the waiting period to end (the owner can cancel)', 'recovery.waiting_period_started', {
      waitSeconds: rule.waitSeconds,
      waitUntil: status.deadlines.waitUntil,
      approvals: status.approvals.received,
    });
    // An owner who cannot be told cannot cancel: a refused notice ends the recovery (fail closed).
    const notice = await sendLink({ recoveryId, step: 'cancel-link', purpose: 'cancel', ttlSeconds: rule.waitSeconds, to: 'all' });
    let reminder: { tokenId: string } | null = null;
    if (notice) {
      await awaitWithReminder(
        () => cancelled !== null || deliveryFailed !== null,
        rule.waitSeconds,
        async () => {
          const left = Math.max(1, Math.ceil((currentDeadline! - Date.now()) / 1000));
          reminder = await sendLink({ recoveryId, step: 'cancel-link-reminder', purpose: 'cancel', ttlSeconds: left, to: 'all' });
        },
      );
    }
    for (const t of [notice, reminder as { tokenId: string } | null]) if (t) await acts.invalidateToken({ tokenId: t.tokenId, reason: 'waiting_period_over' });
    if (cancelled) {
      await endCancelled();
      return finish();
    }
    if (deliveryFailed) {
      await endUndelivered();
      return finish();
    }
  }

  if (kind === 'password_reset') {
    // Tier 3: a single-use link to the registered address, never one given in the request.
    const link = await sendLink({ recoveryId, step: 'completion-link', purpose: 'password_reset', ttlSeconds: policy.tokenTtlSeconds, to: 'primary' });
    if (!link) {
      await endUndelivered();
      return finish();
    }
    setDeadline('linkExpiresAt', policy.tokenTtlSeconds);
    await enter('awaiting_completion', 'the account owner to use the emailed link', 'recovery.link_issued', { tokenId: link.tokenId, ttlSeconds: policy.tokenTtlSeconds });
    const redeemed = await wf.condition(() => redeemedTokens.has(link.tokenId) || cancelled !== null, policy.tokenTtlSeconds * 1000);
    if (!redeemedTokens.has(link.tokenId)) {
      await acts.invalidateToken({ tokenId: link.tokenId, reason: cancelled ? 'cancelled' : 'expired' });
      if (cancelled) await endCancelled();
      else await end('expired', 'recovery.link_expired', { tokenId: link.tokenId, redeemed });
      return finish();
    }
    if (!status.tiers.passed.includes(3)) status.tiers.passed.push(3);
    currentDeadline = null;
    applied = true;
    await enter('finalising', 'the directory update', 'recovery.link_redeemed', { tokenId: link.tokenId }, 'account_owner');
    await acts.applyStagedPassword({ recoveryId, tokenId: link.tokenId });
    const revoked = await acts.revokeSessions({ recoveryId, tenantId, accountId, reason: `${kind} ${recoveryId}` });
    const notified = await acts.notifyAccount({ recoveryId, step: 'notify-completed', template: 'password_changed' });
    await end('completed', 'recovery.completed', { sessionsRevoked: revoked.revoked, addressesNotified: notified.recipients, approvals: status.approvals.received });
    return finish();
  }

  // MFA reset: remove the factors, sign everything out, tell every address, then a short-lived
  // single-use enrolment link lets the owner enrol again.
  currentDeadline = null;
  applied = true;
  await enter('finalising', 'the directory update', 'recovery.applying', { approvals: status.approvals.received });
  const removed = await acts.removeMfaFactors({ recoveryId });
  const revoked = await acts.revokeSessions({ recoveryId, tenantId, accountId, reason: `${kind} ${recoveryId}` });
  const notified = await acts.notifyAccount({ recoveryId, step: 'notify-mfa-reset', template: 'mfa_reset' });
  const enrol = await sendLink({ recoveryId, step: 'enrolment-link', purpose: 'mfa_enrolment', ttlSeconds: policy.tokenTtlSeconds, to: 'primary' });
  if (!enrol) {
    // The reset is applied already; only the convenience link is lost.
    await end('completed', 'recovery.completed', {
      enrolled: false,
      enrolmentLink: 'undelivered',
      note: 'the mail server refused the enrolment link; enrolment stays required at the next login',
      factorsRemoved: removed.removed,
      sessionsRevoked: revoked.revoked,
      approvals: status.approvals.received,
    });
    return finish();
  }
  setDeadline('linkExpiresAt', policy.tokenTtlSeconds);
  await enter('awaiting_completion', 'the account owner to enrol a new factor', 'recovery.enrolment_link_issued', {
    factorsRemoved: removed.removed,
    sessionsRevoked: revoked.revoked,
    addressesNotified: notified.recipients,
    tokenId: enrol.tokenId,
  });
  const enrolled = await wf.condition(() => redeemedTokens.has(enrol.tokenId), policy.tokenTtlSeconds * 1000);
  if (!enrolled) await acts.invalidateToken({ tokenId: enrol.tokenId, reason: 'expired' });
  await end('completed', 'recovery.completed', {
    enrolled,
    note: enrolled ? 'a new factor was enrolled through the link' : 'the enrolment link expired; enrolment stays required at the next login',
    approvals: status.approvals.received,
  });
  return finish();
}
