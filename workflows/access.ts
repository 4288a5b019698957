// Emergency access (break-glass, SSO bypass): requested -> [contact confirms, SSO bypass only]
// -> two approvals from distinct break-glass approvers -> credential issued (picked up once by
// the requester) -> revoked at TTL or on demand -> rotation -> independent review -> completed.
// Harder than the normal path on purpose: every step waits for a person or a timer.
// Each stage returns false once it has ended the grant.
import * as wf from '@temporalio/workflow';
import type { AccessOutcome, AccessWorkflowInput } from '../contracts/access';
import type { TargetRotation } from '../contracts/activities';
import { ACCESS_REQUIRED_APPROVALS as REQUIRED_APPROVALS } from '../domain/access';
import { installHandlers } from './access-handlers';
import { end, endCancelled, finish, startRun, type AccessRun } from './access-run';
import { acts, directoryRefusal, isDeliveryRefused } from './proxies';
import { awaitWithReminder } from './stage';

export async function accessGrantWorkflow(input: AccessWorkflowInput): Promise<AccessOutcome> {
  const run = startRun(input);
  installHandlers(run);
  run.stage.show();
  await run.stage.enter('requested', null, 'access.requested', { durationSeconds: input.durationSeconds }, `principal:${input.requestedBy}`);
  if (input.kind === 'sso_bypass' && !(await confirmContact(run))) return finish(run);
  if (!(await awaitApprovals(run))) return finish(run);
  if (!(await grantCredential(run))) return finish(run);
  await awaitReview(run, await rotate(run));
  return finish(run);
}

/** SSO bypass: the tenant's security contact on record confirms over a Tier 3 link. */
async function confirmContact(run: AccessRun): Promise<boolean> {
  const { status, stage } = run;
  const { grantId, tenantId, timings } = run.input;
  stage.setDeadline('confirmBy', timings.confirmationSeconds);
  let link: { tokenId: string };
  try {
    link = await acts.issueContactConfirmation({ grantId, step: 'contact-confirmation', ttlSeconds: timings.confirmationSeconds });
  } catch (err) {
    // The contact's mail server refused the link for good: nobody can confirm, so nothing is granted.
    if (isDeliveryRefused(err)) {
      await end(run, 'failed', 'access.confirmation_undelivered', {
        note: "the security contact's mail server refused the confirmation link; the token is invalidated",
      });
      return false;
    }
    throw err;
  }
  run.confirmationTokenId = link.tokenId;
  if (stage.recordFirst && run.redeemedTokens.has(link.tokenId)) run.confirmed = true;
  await stage.enter('awaiting_confirmation', "the tenant's security contact to confirm", 'access.confirmation_requested', { tokenId: link.tokenId });
  const ok = await wf.condition(() => run.confirmed || run.revoke !== null, timings.confirmationSeconds * 1000);
  if (run.revoke) {
    await endCancelled(run);
    return false;
  }
  if (!ok) {
    await acts.invalidateToken({ tokenId: link.tokenId, reason: 'expired' });
    await end(run, 'expired', 'access.confirmation_expired');
    return false;
  }
  await stage.books.recordGrantTransition({
    grantId,
    tenantId,
    step: stage.step('confirmed'),
    state: status.state,
    action: 'access.contact_confirmed',
    actor: 'security_contact',
    details: { tokenId: link.tokenId, evidence: 'tier 3: the contact on record used the link' },
  });
  return true;
}

/** Two distinct break-glass approvers, neither the requester; escalation if nobody acts by half time. */
async function awaitApprovals(run: AccessRun): Promise<boolean> {
  const { status, stage } = run;
  const { grantId, timings } = run.input;
  stage.setDeadline('approveBy', timings.approvalDeadlineSeconds);
  await stage.enter('awaiting_approval', `${REQUIRED_APPROVALS} approvals from break-glass approvers`, 'access.awaiting_approval', {
    approveBy: status.deadlines.approveBy,
  });
  await acts.notifyAccessApprovers({ grantId, step: 'approvers-requested' });
  const decided = () => stage.approvals() >= REQUIRED_APPROVALS || stage.denied() || run.revoke !== null;
  const escalation = {
    remindAfterMs: timings.escalateApprovalAfterSeconds * 1000,
    restMs: (timings.approvalDeadlineSeconds - timings.escalateApprovalAfterSeconds) * 1000,
  };
  const inTime = await awaitWithReminder(decided, escalation, () => {
    if (status.approvals.received.length > 0) return undefined;
    status.escalated.approvals = true;
    return acts.escalateAccess({ grantId, step: 'escalate-approvals', template: 'access_approval_escalation' });
  });
  if (run.revoke) {
    await endCancelled(run);
    return false;
  }
  const by = stage.deniedBy();
  if (by) {
    await acts.notifyAccessRequester({ grantId, step: 'requester-denied', template: 'decision_denied' });
    await end(run, 'denied', 'access.denied', { deniedBy: by.principalId, comment: by.comment }, `principal:${by.principalId}`);
    return false;
  }
  if (!inTime) {
    await acts.notifyAccessRequester({ grantId, step: 'requester-expired', template: 'decision_expired' });
    await end(run, 'expired', 'access.approval_expired', { approvals: status.approvals.received });
    return false;
  }
  return true;
}

/** Generated and stored hashed by an activity, picked up once over the API, revoked at TTL or on demand. */
async function grantCredential(run: AccessRun): Promise<boolean> {
  const { status, stage } = run;
  const { grantId, tenantId, durationSeconds } = run.input;
  await stage.enter('issuing', 'the credential', 'access.approved', { approvals: status.approvals.received });
  let cred: { credentialId: string };
  try {
    cred = await acts.issueAccessCredential({ grantId, ttlSeconds: durationSeconds });
  } catch (err) {
    const code = directoryRefusal(err);
    if (code === null) throw err;
    // The activity has revoked the credential it made: nothing was granted.
    await end(run, 'failed', 'access.directory_refused', { code, note: 'the identity system refused the emergency credential; it was revoked' });
    return false;
  }
  status.credential.issued = true;
  stage.setDeadline('credentialExpiresAt', durationSeconds);
  await stage.enter('active', 'the credential to expire or be revoked', 'access.credential_issued', {
    credentialId: cred.credentialId,
    ttlSeconds: durationSeconds,
  });
  await acts.notifyAccessRequester({ grantId, step: 'requester-approved', template: 'decision_approved' });
  await wf.condition(() => run.revoke !== null, durationSeconds * 1000);
  const reason = run.revoke ? 'revoked' : 'expired';
  const revoked = await acts.revokeAccessCredential({ grantId, reason }).catch((err: unknown) => {
    // The engine's side is revoked before the directory is asked: record the refusal for the review.
    const code = directoryRefusal(err);
    if (code === null) throw err;
    return { sessionsRevoked: 0, directoryRefused: code };
  });
  status.credential.revokedReason = reason;
  await stage.books.recordGrantTransition({
    grantId,
    tenantId,
    step: stage.step('revoked'),
    state: status.state,
    action: reason === 'revoked' ? 'access.credential_revoked' : 'access.credential_expired',
    actor: run.revoke?.actor ?? 'system',
    details: { ...revoked, reason: run.revoke?.reason ?? 'TTL reached', fetched: status.credential.fetched },
  });
  return true;
}

/** Mandatory rotation of the underlying account's own credential. */
async function rotate(run: AccessRun): Promise<TargetRotation> {
  run.stage.clearDeadline();
  await run.stage.enter('rotating', 'the rotation of the account credential', 'access.rotation_started');
  const rotation = await acts.rotateTargetCredential({ grantId: run.input.grantId }).catch((err: unknown) => {
    const code = directoryRefusal(err);
    if (code === null) throw err;
    return { rotated: false, sessionsRevoked: 0, note: `the identity system refused the rotation (${code}): rotate by hand` };
  });
  run.status.rotated = rotation.rotated;
  return rotation;
}

/** Post-action review by someone independent: reminders every few hours, one escalation. */
async function awaitReview(run: AccessRun, rotation: TargetRotation): Promise<void> {
  const { status } = run;
  const { grantId, timings } = run.input;
  await run.stage.enter('awaiting_review', 'a post-action review by an independent reviewer', 'access.review_requested', { rotation });
  await acts.remindReviewers({ grantId, step: 'review-requested', template: 'review_needed' });
  const reviewStarted = Date.now();
  while (!status.review) {
    const got = await wf.condition(() => status.review !== null, timings.reviewReminderEverySeconds * 1000);
    if (got) break;
    status.reviewReminders++;
    await acts.remindReviewers({ grantId, step: `review-reminder-${status.reviewReminders}`, template: 'review_reminder' });
    if (!status.escalated.review && Date.now() - reviewStarted >= timings.reviewEscalateAfterSeconds * 1000) {
      status.escalated.review = true;
      await acts.escalateAccess({ grantId, step: 'escalate-review', template: 'access_review_escalation' });
    }
  }
  const review = status.review!;
  await end(
    run,
    'completed',
    'access.reviewed',
    { outcome: review.outcome, notes: review.notes, reviewer: review.principalId, approvals: status.approvals.received },
    `principal:${review.principalId}`,
  );
}
