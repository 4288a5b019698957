// Emergency access (break-glass, SSO bypass): requested -> [contact confirms, SSO bypass only]
// -> two approvals from distinct break-glass approvers -> credential issued (picked up once by
// the requester) -> revoked at TTL or on demand -> rotation -> independent review -> completed.
// Harder than the normal path on purpose: every step waits for a person or a timer.
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, RiskTierKey, TenantIdKey } from '../contracts/search-attributes';
import { ACCESS_REQUIRED_APPROVALS as REQUIRED_APPROVALS, ACCESS_REVOCABLE_STATES, isAccessTerminal, type AccessState } from '../domain/access';
import { coversTenant } from '../domain/scope';
import {
  accessDecideUpdate,
  accessLinkRedeemedSignal,
  accessReviewUpdate,
  accessRevokeUpdate,
  accessStatusQuery,
  credentialFetchedSignal,
  type AccessOutcome,
  type AccessStatus,
  type AccessWorkflowInput,
} from '../contracts/access';
import { isDeliveryRefused } from './delivery';
import { acts, bookkeeping } from './proxies';

const reject = (type: string, message: string) => wf.ApplicationFailure.create({ type, message, nonRetryable: true });

export async function accessGrantWorkflow(input: AccessWorkflowInput): Promise<AccessOutcome> {
  const { grantId, tenantId, accountId, kind, requestedBy, timings } = input;
  const status: AccessStatus = {
    grantId,
    tenantId,
    accountId,
    kind,
    state: 'requested',
    waitingFor: null,
    approvals: { required: REQUIRED_APPROVALS, received: [] },
    deadlines: {},
    currentDeadline: null,
    credential: { issued: false, fetched: false, revokedReason: null },
    rotated: null,
    review: null,
    reviewReminders: 0,
    escalated: { approvals: false, review: false },
  };
  let currentDeadline: number | null = null;
  let confirmationTokenId: string | null = null;
  let confirmed = false;
  // Read through a function: TypeScript would narrow a plain `let` set only in a handler to `null`.
  let revokeHolder: { actor: string; reason: string } | null = null;
  const revokeRequest = () => revokeHolder;
  let eventSeq = 0;
  const step = (name: string) => `${name}:${++eventSeq}`;
  const approvals = () => status.approvals.received.filter((a) => a.decision === 'approve').length;
  const denied = () => status.approvals.received.some((a) => a.decision === 'deny');
  const approverIds = () => status.approvals.received.map((a) => a.principalId);

  const snapshot = (): AccessStatus => ({ ...status, currentDeadline: currentDeadline === null ? null : new Date(currentDeadline).toISOString() });
  const setDeadline = (key: keyof AccessStatus['deadlines'] | null, seconds: number | null) => {
    currentDeadline = seconds === null ? null : Date.now() + seconds * 1000;
    if (key && currentDeadline !== null) status.deadlines[key] = new Date(currentDeadline).toISOString();
  };

  const show = () => {
    if (input.searchAttributes) {
      const pairs: SearchAttributeUpdatePair[] = [
        { key: TenantIdKey, value: tenantId },
        { key: AccountIdKey, value: accountId },
        { key: RecoveryKindKey, value: kind },
        { key: RecoveryStatusKey, value: status.state },
        { key: RiskTierKey, value: 'high' },
      ];
      wf.upsertSearchAttributes(pairs);
    }
    wf.setCurrentDetails(
      `**${kind}** for \`${accountId}\` in \`${tenantId}\`: ${status.state}` +
        (status.waitingFor ? `, waiting for ${status.waitingFor}` : '') +
        (currentDeadline ? ` (deadline ${new Date(currentDeadline).toISOString()})` : ''),
    );
  };

  // Histories from before the patch published a state before recording it; now the query never
  // shows what the audit log does not hold yet.
  const recordFirst = wf.patched('record-transition-before-publishing');
  const books = bookkeeping();
  const enter = async (state: AccessState, waitingFor: string | null, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    const publish = () => {
      status.state = state;
      status.waitingFor = waitingFor;
      show();
    };
    if (!recordFirst) publish();
    await books.recordGrantTransition({ grantId, tenantId, step: step(action), state, action, actor, details: { ...details, workflowTime: new Date().toISOString() } });
    if (recordFirst) publish();
  };

  wf.setHandler(accessStatusQuery, snapshot);

  wf.setHandler(
    accessDecideUpdate,
    async (d) => {
      status.approvals.received.push({ principalId: d.principalId, decision: d.decision, comment: d.comment, at: new Date().toISOString() });
      await acts.recordGrantTransition({
        grantId,
        tenantId,
        step: step('decision'),
        state: status.state,
        action: d.decision === 'approve' ? 'approval.granted' : 'approval.denied',
        actor: `principal:${d.principalId}`,
        details: { comment: d.comment, approvalsSoFar: approvals(), required: REQUIRED_APPROVALS },
      });
      return snapshot();
    },
    {
      validator: (d) => {
        if (status.state !== 'awaiting_approval' || denied() || approvals() >= REQUIRED_APPROVALS || revokeRequest()) {
          throw reject('approval_closed', `the grant is ${status.state}: decisions are closed`);
        }
        if (currentDeadline !== null && Date.now() >= currentDeadline) throw reject('approval_closed', 'the approval deadline has passed');
        if (d.principalId === requestedBy) throw reject('requester_cannot_approve', 'the requester never approves their own emergency access');
        if (!d.roles.includes('break_glass_approver')) throw reject('approver_lacks_role', 'deciding needs the break_glass_approver role');
        if (!coversTenant(d.tenantScope, tenantId)) throw reject('approver_out_of_scope', "the approver's scope does not include this tenant");
        if (approverIds().includes(d.principalId)) throw reject('already_decided', 'this approver has already decided');
      },
    },
  );

  wf.setHandler(
    accessReviewUpdate,
    async (r) => {
      status.review = { principalId: r.principalId, outcome: r.outcome, notes: r.notes, at: new Date().toISOString() };
      return snapshot();
    },
    {
      validator: (r) => {
        if (status.state !== 'awaiting_review' || status.review) throw reject('review_not_open', `the grant is ${status.state}: no review is open`);
        if (!r.roles.includes('reviewer')) throw reject('reviewer_lacks_role', 'a review needs the reviewer role');
        if (r.principalId === requestedBy || approverIds().includes(r.principalId)) {
          throw reject('reviewer_not_independent', 'the reviewer was neither the requester nor an approver');
        }
        if (!coversTenant(r.tenantScope, tenantId)) throw reject('reviewer_out_of_scope', "the reviewer's scope does not include this tenant");
      },
    },
  );

  wf.setHandler(
    accessRevokeUpdate,
    async (req) => {
      revokeHolder = req;
      await wf.condition(() => status.credential.revokedReason !== null || isAccessTerminal(status.state));
      return snapshot();
    },
    {
      validator: (_req) => {
        if (revokeRequest() || !ACCESS_REVOCABLE_STATES.includes(status.state)) {
          throw reject('not_revocable', `the grant is ${status.state}: nothing left to revoke`);
        }
      },
    },
  );

  wf.setHandler(credentialFetchedSignal, () => {
    status.credential.fetched = true;
  });
  // The contact may use the link before the issuing activity's result is in: remember every id.
  const redeemedTokens = new Set<string>();
  wf.setHandler(accessLinkRedeemedSignal, async ({ tokenId }) => {
    // A hint sent before the API's COMMIT: Postgres says whether the link is really used.
    if (recordFirst && !(await acts.confirmRedemption({ tokenId, workflowId: wf.workflowInfo().workflowId })).used) return;
    redeemedTokens.add(tokenId);
    if (tokenId === confirmationTokenId) confirmed = true;
  });

  const finish = async (state: AccessState, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    currentDeadline = null;
    await enter(state, null, action, details, actor);
    await wf.condition(wf.allHandlersFinished);
    return { grantId, state };
  };

  show();
  await enter('requested', null, 'access.requested', { durationSeconds: input.durationSeconds }, `principal:${requestedBy}`);

  // SSO bypass: the tenant's security contact on record confirms over a Tier 3 link.
  if (kind === 'sso_bypass') {
    setDeadline('confirmBy', timings.confirmationSeconds);
    let link: { tokenId: string };
    try {
      link = await acts.issueContactConfirmation({ grantId, step: 'contact-confirmation', ttlSeconds: timings.confirmationSeconds });
    } catch (err) {
      // The contact's mail server refused the link for good: nobody can confirm, so nothing is granted.
      if (isDeliveryRefused(err)) {
        return finish('failed', 'access.confirmation_undelivered', { note: "the security contact's mail server refused the confirmation link; the token is invalidated" });
      }
      throw err;
    }
    confirmationTokenId = link.tokenId;
    if (recordFirst && redeemedTokens.has(link.tokenId)) confirmed = true;
    await enter('awaiting_confirmation', "the tenant's security contact to confirm", 'access.confirmation_requested', { tokenId: link.tokenId });
    const ok = await wf.condition(() => confirmed || revokeRequest() !== null, timings.confirmationSeconds * 1000);
    if (revokeRequest()) return finish('cancelled', 'access.cancelled', { reason: revokeRequest()!.reason }, revokeRequest()!.actor);
    if (!ok) {
      await acts.invalidateToken({ tokenId: link.tokenId, reason: 'expired' });
      return finish('expired', 'access.confirmation_expired');
    }
    await books.recordGrantTransition({ grantId, tenantId, step: step('confirmed'), state: status.state, action: 'access.contact_confirmed', actor: 'security_contact', details: { tokenId: link.tokenId, evidence: 'tier 3: the contact on record used the link' } });
  }

  // Two distinct break-glass approvers, neither the requester; escalation at half time.
  setDeadline('approveBy', timings.approvalDeadlineSeconds);
  await enter('awaiting_approval', `${REQUIRED_APPROVALS} approvals from break-glass approvers`, 'access.awaiting_approval', { approveBy: status.deadlines.approveBy });
  await acts.notifyAccessApprovers({ grantId, step: 'approvers-requested' });
  const decided = () => approvals() >= REQUIRED_APPROVALS || denied() || revokeRequest() !== null;
  let inTime = await wf.condition(decided, timings.escalateApprovalAfterSeconds * 1000);
  if (!inTime) {
    if (status.approvals.received.length === 0) {
      status.escalated.approvals = true;
      await acts.escalateAccess({ grantId, step: 'escalate-approvals', template: 'access_approval_escalation' });
    }
    inTime = await wf.condition(decided, (timings.approvalDeadlineSeconds - timings.escalateApprovalAfterSeconds) * 1000);
  }
  if (revokeRequest()) return finish('cancelled', 'access.cancelled', { reason: revokeRequest()!.reason }, revokeRequest()!.actor);
  if (denied()) {
    const by = status.approvals.received.find((a) => a.decision === 'deny')!;
    await acts.notifyAccessRequester({ grantId, step: 'requester-denied', template: 'decision_denied' });
    return finish('denied', 'access.denied', { deniedBy: by.principalId, comment: by.comment }, `principal:${by.principalId}`);
  }
  if (!inTime) {
    await acts.notifyAccessRequester({ grantId, step: 'requester-expired', template: 'decision_expired' });
    return finish('expired', 'access.approval_expired', { approvals: status.approvals.received });
  }

  // The credential: generated and stored hashed by an activity; picked up once over the API.
  await enter('issuing', 'the credential', 'access.approved', { approvals: status.approvals.received });
  const cred = await acts.issueAccessCredential({ grantId, ttlSeconds: input.durationSeconds });
  status.credential.issued = true;
  setDeadline('credentialExpiresAt', input.durationSeconds);
  await enter('active', 'the credential to expire or be revoked', 'access.credential_issued', { credentialId: cred.credentialId, ttlSeconds: input.durationSeconds });
  await acts.notifyAccessRequester({ grantId, step: 'requester-approved', template: 'decision_approved' });
  await wf.condition(() => revokeRequest() !== null, input.durationSeconds * 1000);
  const reason = revokeRequest() ? 'revoked' : 'expired';
  const revoked = await acts.revokeAccessCredential({ grantId, reason });
  status.credential.revokedReason = reason;
  await books.recordGrantTransition({
    grantId,
    tenantId,
    step: step('revoked'),
    state: status.state,
    action: reason === 'revoked' ? 'access.credential_revoked' : 'access.credential_expired',
    actor: revokeRequest()?.actor ?? 'system',
    details: { sessionsRevoked: revoked.sessionsRevoked, reason: revokeRequest()?.reason ?? 'TTL reached', fetched: status.credential.fetched },
  });

  // Mandatory rotation of the underlying account's own credential.
  currentDeadline = null;
  await enter('rotating', 'the rotation of the account credential', 'access.rotation_started');
  const rotation = await acts.rotateTargetCredential({ grantId });
  status.rotated = rotation.rotated;

  // Post-action review by someone independent; reminders every 4 h, escalation after 24 h.
  await enter('awaiting_review', 'a post-action review by an independent reviewer', 'access.review_requested', { rotation });
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
  return finish('completed', 'access.reviewed', { outcome: review.outcome, notes: review.notes, reviewer: review.principalId, approvals: status.approvals.received }, `principal:${review.principalId}`);
}
