// What an emergency-access grant answers while it runs: its status, approvers' decisions, the
// post-action review, revocation, the credential pickup and the contact's confirmation link.
import * as wf from '@temporalio/workflow';
import {
  accessDecideUpdate,
  accessLinkRedeemedSignal,
  accessReviewUpdate,
  accessRevokeUpdate,
  accessStatusQuery,
  credentialFetchedSignal,
  type AccessDecision,
  type AccessReview,
  type RevokeRequest,
} from '../contracts/access';
import { ACCESS_REQUIRED_APPROVALS, ACCESS_REVOCABLE_STATES, isAccessTerminal } from '../domain/access';
import { coversTenant } from '../domain/scope';
import type { AccessRun } from './access-run';
import { acts } from './proxies';
import { reject } from './stage';

/** Registers every handler; call before the first await. */
export function installHandlers(run: AccessRun): void {
  const { status, stage } = run;
  const { grantId, tenantId } = run.input;
  wf.setHandler(accessStatusQuery, stage.snapshot);

  wf.setHandler(
    accessDecideUpdate,
    async (d) => {
      stage.addDecision(d);
      await acts.recordGrantTransition({
        grantId,
        tenantId,
        step: stage.step('decision'),
        state: status.state,
        action: d.decision === 'approve' ? 'approval.granted' : 'approval.denied',
        actor: `principal:${d.principalId}`,
        details: { comment: d.comment, approvalsSoFar: stage.approvals(), required: ACCESS_REQUIRED_APPROVALS },
      });
      return stage.snapshot();
    },
    { validator: (d: AccessDecision) => checkApprover(run, d) },
  );

  wf.setHandler(
    accessReviewUpdate,
    async (r) => {
      status.review = { principalId: r.principalId, outcome: r.outcome, notes: r.notes, at: new Date().toISOString() };
      return stage.snapshot();
    },
    { validator: (r: AccessReview) => checkReviewer(run, r) },
  );

  wf.setHandler(
    accessRevokeUpdate,
    async (req) => {
      run.revoke = req;
      await wf.condition(() => status.credential.revokedReason !== null || isAccessTerminal(status.state));
      return stage.snapshot();
    },
    {
      validator: (_req: RevokeRequest) => {
        if (run.revoke || !ACCESS_REVOCABLE_STATES.includes(status.state)) {
          throw reject('not_revocable', `the grant is ${status.state}: nothing left to revoke`);
        }
      },
    },
  );

  wf.setHandler(credentialFetchedSignal, () => {
    status.credential.fetched = true;
  });
  wf.setHandler(accessLinkRedeemedSignal, async ({ tokenId }) => {
    // A hint sent before the API's COMMIT: Postgres says whether the link is really used.
    if (stage.recordFirst && !(await acts.confirmRedemption({ tokenId, workflowId: wf.workflowInfo().workflowId })).used) return;
    run.redeemedTokens.add(tokenId);
    if (tokenId === run.confirmationTokenId) run.confirmed = true;
  });
}

/** Two distinct break-glass approvers in scope, neither of them the requester. */
function checkApprover(run: AccessRun, d: AccessDecision): void {
  const { status, stage } = run;
  if (status.state !== 'awaiting_approval' || stage.denied() || stage.approvals() >= ACCESS_REQUIRED_APPROVALS || run.revoke) {
    throw reject('approval_closed', `the grant is ${status.state}: decisions are closed`);
  }
  if (stage.deadlinePassed()) throw reject('approval_closed', 'the approval deadline has passed');
  if (d.principalId === run.input.requestedBy) throw reject('requester_cannot_approve', 'the requester never approves their own emergency access');
  if (!d.roles.includes('break_glass_approver')) throw reject('approver_lacks_role', 'deciding needs the break_glass_approver role');
  if (!coversTenant(d.tenantScope, run.input.tenantId)) throw reject('approver_out_of_scope', "the approver's scope does not include this tenant");
  if (stage.hasDecided(d.principalId)) throw reject('already_decided', 'this approver has already decided');
}

/** The reviewer is independent: neither the requester nor anyone who decided. */
function checkReviewer(run: AccessRun, r: AccessReview): void {
  const { status, stage } = run;
  if (status.state !== 'awaiting_review' || status.review) throw reject('review_not_open', `the grant is ${status.state}: no review is open`);
  if (!r.roles.includes('reviewer')) throw reject('reviewer_lacks_role', 'a review needs the reviewer role');
  if (r.principalId === run.input.requestedBy || stage.hasDecided(r.principalId)) {
    throw reject('reviewer_not_independent', 'the reviewer was neither the requester nor an approver');
  }
  if (!coversTenant(r.tenantScope, run.input.tenantId)) throw reject('reviewer_out_of_scope', "the reviewer's scope does not include this tenant");
}
