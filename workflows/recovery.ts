// Recovery (password reset, MFA reset): received -> triage -> refused | verifying ->
// awaiting_approval? -> waiting_period? -> awaiting_completion -> finalising -> completed.
// Pure orchestration: every side effect is an activity, every duration comes from policy.
// Each stage returns false once it has ended the recovery.
import * as wf from '@temporalio/workflow';
import type { RecoveryOutcome, RecoveryWorkflowInput } from '../contracts/recovery';
import type { Policy, RecoveryRule } from '../domain/policy';
import { preCompletionTiersMet, triage, type TriageFacts } from '../domain/triage';
import { acts, directoryRefusal } from './proxies';
import { installHandlers } from './recovery-handlers';
import { end, endCancelled, endUndelivered, finish, sendLink, startRun, type RecoveryRun } from './recovery-run';
import { awaitWithReminder, reminderAt } from './stage';

export async function recoveryWorkflow(input: RecoveryWorkflowInput): Promise<RecoveryOutcome> {
  const run = startRun(input);
  installHandlers(run);
  const { show, books } = run.stage;

  // Triage: facts from an activity, the decision from pure domain code.
  show();
  const assessment = await books.assessRecovery({ recoveryId: input.recoveryId });
  const rule = await triageStage(run, assessment);
  if (!rule) return finish(run);
  if (!(await verify(run, rule))) return finish(run);
  if (rule.approvals > 0 && !(await awaitApprovals(run, rule))) return finish(run);
  if (rule.waitSeconds > 0 && !(await waitingPeriod(run, rule))) return finish(run);
  if (input.kind === 'password_reset') await completePasswordReset(run);
  else await completeMfaReset(run);
  return finish(run);
}

/** Refuses the request, or starts verification and returns the rule it must meet. */
async function triageStage(run: RecoveryRun, assessment: { facts: TriageFacts; policy: Policy }): Promise<RecoveryRule | null> {
  const { status, stage } = run;
  const { recoveryId, tenantId } = run.input;
  const policy = (run.policy = assessment.policy);
  const decision = triage(assessment.facts, policy);
  status.reasons = decision.reasons;
  status.riskTier = decision.riskTier;
  status.manualReview = decision.manualReview;
  if (decision.outcome === 'refused') {
    status.route = decision.route ?? 'customer_it';
    if (status.route === 'security') {
      await acts.alertSecurity({ recoveryId, tenantId, step: 'alert-high-risk', template: 'security_alert', reasons: decision.reasons });
      // The internal security webhook too; histories from before patch `security-webhook` did not call it.
      if (wf.patched('security-webhook'))
        await acts.notifySecurityWebhook({ event: 'recovery_refused', caseId: recoveryId, tenantId, step: 'webhook-high-risk' });
    }
    await end(run, 'refused', 'recovery.refused', { route: status.route, riskScore: decision.riskScore, signals: assessment.facts.signals });
    return null;
  }
  const rule = decision.rule;
  status.tiers.required = rule.tiers;
  status.tiers.attemptsLeft = policy.maxFailedVerifications;
  status.approvals.required = rule.approvals;
  stage.setDeadline('verifyBy', policy.verificationWindowSeconds);
  await stage.enter('verifying', 'identity verification', 'recovery.triaged', {
    riskScore: decision.riskScore,
    manualReview: decision.manualReview,
    rule,
    signals: assessment.facts.signals,
  });
  run.triaged = true;
  return rule;
}

/** Waits for the tiers the rule needs (tier 3 of a password reset comes with the completion link). */
async function verify(run: RecoveryRun, rule: RecoveryRule): Promise<boolean> {
  const { status } = run;
  const policy = run.policy!;
  const tier3ViaCompletionLink = run.input.kind === 'password_reset';
  const verified = await wf.condition(
    () =>
      preCompletionTiersMet(rule.tiers, status.tiers.passed, tier3ViaCompletionLink) ||
      run.verificationFailed ||
      run.cancelled !== null ||
      run.deliveryFailed !== null,
    policy.verificationWindowSeconds * 1000,
  );
  if (run.possessionLinkId && !status.tiers.passed.includes(3)) await acts.invalidateToken({ tokenId: run.possessionLinkId, reason: 'verification_over' });
  if (run.cancelled) {
    await endCancelled(run);
    return false;
  }
  if (run.verificationFailed) {
    await end(run, 'failed', 'recovery.verification_failed', { failedAttempts: status.tiers.failedAttempts });
    return false;
  }
  if (run.deliveryFailed) {
    await endUndelivered(run);
    return false;
  }
  if (!verified) {
    await end(run, 'expired', 'recovery.verification_expired', { windowSeconds: policy.verificationWindowSeconds });
    return false;
  }
  return true;
}

/** Approvals arrive as Updates with validators; a deny ends the recovery. */
async function awaitApprovals(run: RecoveryRun, rule: RecoveryRule): Promise<boolean> {
  const { status, stage } = run;
  const { recoveryId } = run.input;
  const policy = run.policy!;
  stage.setDeadline('approveBy', policy.approvalDeadlineSeconds);
  await stage.enter('awaiting_approval', `${rule.approvals} approval(s)`, 'recovery.awaiting_approval', {
    required: rule.approvals,
    approveBy: status.deadlines.approveBy,
  });
  await acts.notifyApprovers({ recoveryId, step: 'approvers-requested', template: 'approval_needed', required: rule.approvals });
  const decided = () => stage.approvals() >= rule.approvals || stage.denied() || run.cancelled !== null;
  const inTime = await awaitWithReminder(decided, reminderAt(policy.approvalDeadlineSeconds), () =>
    acts.notifyApprovers({ recoveryId, step: 'approvers-reminded', template: 'approval_reminder', required: rule.approvals }),
  );
  if (run.cancelled) {
    await endCancelled(run);
    return false;
  }
  const by = stage.deniedBy();
  if (by) {
    await acts.notifyRequester({ recoveryId, step: 'requester-denied', template: 'decision_denied' });
    await end(
      run,
      'denied',
      'recovery.denied',
      { deniedBy: by.principalId, comment: by.comment, approvals: status.approvals.received },
      `principal:${by.principalId}`,
    );
    return false;
  }
  if (!inTime) {
    await acts.notifyRequester({ recoveryId, step: 'requester-expired', template: 'decision_expired' });
    await end(run, 'expired', 'recovery.approval_expired', { approveBy: status.deadlines.approveBy, approvals: status.approvals.received });
    return false;
  }
  await acts.notifyRequester({ recoveryId, step: 'requester-approved', template: 'decision_approved' });
  return true;
}

/** The owner can stop the recovery from any registered address until the waiting period ends. */
async function waitingPeriod(run: RecoveryRun, rule: RecoveryRule): Promise<boolean> {
  const { status, stage } = run;
  const { recoveryId } = run.input;
  stage.setDeadline('waitUntil', rule.waitSeconds);
  await stage.enter('waiting_period', 'the waiting period to end (the owner can cancel)', 'recovery.waiting_period_started', {
    waitSeconds: rule.waitSeconds,
    waitUntil: status.deadlines.waitUntil,
    approvals: status.approvals.received,
  });
  // An owner who cannot be told cannot cancel: a refused notice ends the recovery (fail closed).
  const notice = await sendLink(run, { recoveryId, step: 'cancel-link', purpose: 'cancel', ttlSeconds: rule.waitSeconds, to: 'all' });
  let reminder: { tokenId: string } | null = null;
  if (notice) {
    await awaitWithReminder(
      () => run.cancelled !== null || run.deliveryFailed !== null,
      reminderAt(rule.waitSeconds),
      async () => {
        const left = Math.max(1, Math.ceil((stage.deadline()! - Date.now()) / 1000));
        reminder = await sendLink(run, { recoveryId, step: 'cancel-link-reminder', purpose: 'cancel', ttlSeconds: left, to: 'all' });
      },
    );
  }
  // A cancel accepted before the period ended is still being confirmed: let it land first.
  if (run.attested) await wf.condition(() => run.cancelsPending === 0);
  for (const t of [notice, reminder as { tokenId: string } | null]) if (t) await acts.invalidateToken({ tokenId: t.tokenId, reason: 'waiting_period_over' });
  if (run.cancelled) {
    await endCancelled(run);
    return false;
  }
  if (run.deliveryFailed) {
    await endUndelivered(run);
    return false;
  }
  return true;
}

/**
 * The directory refused the change for good: the recovery fails with its code, and the owner is told
 * nothing (no "password changed" notice for a change that did not happen). Anything else rethrows.
 */
async function endRefusedByDirectory(run: RecoveryRun, err: unknown): Promise<void> {
  const code = directoryRefusal(err);
  if (code === null) throw err;
  run.status.reasons.push({ code: 'directory_refused', detail: `the identity system refused the change: ${code}` });
  await end(run, 'failed', 'recovery.directory_refused', { code, note: 'the identity system refused the change; nothing was applied after it' });
}

/** Tier 3: a single-use link to the registered address, never one given in the request. */
async function completePasswordReset(run: RecoveryRun): Promise<void> {
  const { status, stage } = run;
  const { recoveryId, tenantId, accountId, kind } = run.input;
  const policy = run.policy!;
  const link = await sendLink(run, { recoveryId, step: 'completion-link', purpose: 'password_reset', ttlSeconds: policy.tokenTtlSeconds, to: 'primary' });
  if (!link) return endUndelivered(run);
  stage.setDeadline('linkExpiresAt', policy.tokenTtlSeconds);
  await stage.enter('awaiting_completion', 'the account owner to use the emailed link', 'recovery.link_issued', {
    tokenId: link.tokenId,
    ttlSeconds: policy.tokenTtlSeconds,
  });
  const redeemed = await wf.condition(() => run.redeemedTokens.has(link.tokenId) || run.cancelled !== null, policy.tokenTtlSeconds * 1000);
  if (!run.redeemedTokens.has(link.tokenId)) {
    await acts.invalidateToken({ tokenId: link.tokenId, reason: run.cancelled ? 'cancelled' : 'expired' });
    if (run.cancelled) await endCancelled(run);
    else await end(run, 'expired', 'recovery.link_expired', { tokenId: link.tokenId, redeemed });
    return;
  }
  if (!status.tiers.passed.includes(3)) status.tiers.passed.push(3);
  stage.clearDeadline();
  run.applied = true;
  await stage.enter('finalising', 'the directory update', 'recovery.link_redeemed', { tokenId: link.tokenId }, 'account_owner');
  let revoked: { revoked: number };
  try {
    await acts.applyStagedPassword({ recoveryId, tokenId: link.tokenId });
    revoked = await acts.revokeSessions({ recoveryId, tenantId, accountId, reason: `${kind} ${recoveryId}` });
  } catch (err) {
    return endRefusedByDirectory(run, err);
  }
  const notified = await acts.notifyAccount({ recoveryId, step: 'notify-completed', template: 'password_changed' });
  await end(run, 'completed', 'recovery.completed', {
    sessionsRevoked: revoked.revoked,
    addressesNotified: notified.recipients,
    approvals: status.approvals.received,
  });
}

/**
 * MFA reset: remove the factors, sign everything out, tell every address, then a short-lived
 * single-use enrolment link lets the owner enrol again.
 */
async function completeMfaReset(run: RecoveryRun): Promise<void> {
  const { status, stage } = run;
  const { recoveryId, tenantId, accountId, kind } = run.input;
  const policy = run.policy!;
  stage.clearDeadline();
  run.applied = true;
  await stage.enter('finalising', 'the directory update', 'recovery.applying', { approvals: status.approvals.received });
  let removed: { removed: number; enrolment?: 'link' | 'directory' };
  let revoked: { revoked: number };
  try {
    removed = await acts.removeMfaFactors({ recoveryId });
    revoked = await acts.revokeSessions({ recoveryId, tenantId, accountId, reason: `${kind} ${recoveryId}` });
  } catch (err) {
    return endRefusedByDirectory(run, err);
  }
  const notified = await acts.notifyAccount({ recoveryId, step: 'notify-mfa-reset', template: 'mfa_reset' });
  if (removed.enrolment === 'directory') {
    // A remote directory enrols the new factor at its own next sign-in (e.g. Keycloak's CONFIGURE_TOTP).
    return end(run, 'completed', 'recovery.completed', {
      enrolled: false,
      enrolment: 'directory',
      note: 'enrolment is required at the next sign-in to the identity system',
      factorsRemoved: removed.removed,
      sessionsRevoked: revoked.revoked,
      addressesNotified: notified.recipients,
      approvals: status.approvals.received,
    });
  }
  const enrol = await sendLink(run, { recoveryId, step: 'enrolment-link', purpose: 'mfa_enrolment', ttlSeconds: policy.tokenTtlSeconds, to: 'primary' });
  if (!enrol) {
    // The reset is applied already; only the convenience link is lost.
    return end(run, 'completed', 'recovery.completed', {
      enrolled: false,
      enrolmentLink: 'undelivered',
      note: 'the mail server refused the enrolment link; enrolment stays required at the next login',
      factorsRemoved: removed.removed,
      sessionsRevoked: revoked.revoked,
      approvals: status.approvals.received,
    });
  }
  stage.setDeadline('linkExpiresAt', policy.tokenTtlSeconds);
  await stage.enter('awaiting_completion', 'the account owner to enrol a new factor', 'recovery.enrolment_link_issued', {
    factorsRemoved: removed.removed,
    sessionsRevoked: revoked.revoked,
    addressesNotified: notified.recipients,
    tokenId: enrol.tokenId,
  });
  const enrolled = await wf.condition(() => run.redeemedTokens.has(enrol.tokenId), policy.tokenTtlSeconds * 1000);
  if (!enrolled) await acts.invalidateToken({ tokenId: enrol.tokenId, reason: 'expired' });
  await end(run, 'completed', 'recovery.completed', {
    enrolled,
    note: enrolled ? 'a new factor was enrolled through the link' : 'the enrolment link expired; enrolment stays required at the next login',
    approvals: status.approvals.received,
  });
}
