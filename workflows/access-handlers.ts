// What an emergency-access grant answers while it runs: its status, approvers' decisions, the
// post-action review, revocation, the credential pickup and the contact's confirmation link.
// Validators check shape and state; handlers count a message once its attestation is confirmed
// (workflows/messages.ts). Runs from before patch `attested-messages` judge the claims as they did.
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
  type RevokeMessage,
  type RevokeRequest,
} from '../contracts/access';
import type { Attested } from '../contracts/attested';
import { ACCESS_REQUIRED_APPROVALS, ACCESS_REVOCABLE_STATES, isAccessTerminal } from '../domain/access';
import { coversTenant } from '../domain/scope';
import type { AccessRun } from './access-run';
import { confirmed, isMessage, principalOf, requireMessage } from './messages';
import { acts } from './proxies';
import { reject } from './stage';

/** Who decides or reviews, as separation of duties judges it: verified facts, or an old run's claim. */
interface Actor {
  principalId: string;
  personId?: string;
  roles: string[];
  tenantScope: string[];
}

/** Registers every handler; call before the first await. */
export function installHandlers(run: AccessRun): void {
  const { status, stage } = run;
  const { grantId, tenantId } = run.input;
  wf.setHandler(accessStatusQuery, stage.snapshot);

  wf.setHandler(
    accessDecideUpdate,
    async (msg) => {
      let d: Actor & Pick<AccessDecision, 'decision' | 'comment'>;
      if (run.attested) {
        const facts = await confirmed('access.decide', grantId, msg);
        d = { ...principalOf(facts), ...facts.message };
        // On the verified facts, and after the await: the state may have moved meanwhile.
        checkApprover(run, d);
      } else d = { ...legacyActor(msg), decision: msg.decision, comment: msg.comment };
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
    {
      validator: (msg: AccessDecision) => {
        requireMessage(msg);
        if (run.attested) checkDecisionsOpen(run);
        else checkApprover(run, legacyActor(msg));
      },
    },
  );

  wf.setHandler(
    accessReviewUpdate,
    async (msg) => {
      let r: Actor & Pick<AccessReview, 'outcome' | 'notes'>;
      if (run.attested) {
        const facts = await confirmed('access.review', grantId, msg);
        r = { ...principalOf(facts), ...facts.message };
        checkReviewer(run, r);
      } else r = { ...legacyActor(msg), outcome: msg.outcome, notes: msg.notes };
      status.review = { principalId: r.principalId, outcome: r.outcome, notes: r.notes, at: new Date().toISOString() };
      return stage.snapshot();
    },
    {
      validator: (msg: AccessReview) => {
        requireMessage(msg);
        if (run.attested) checkReviewOpen(run);
        else checkReviewer(run, legacyActor(msg));
      },
    },
  );

  wf.setHandler(
    accessRevokeUpdate,
    async (msg) => {
      if (run.attested) {
        const { message } = await confirmed('access.revoke', grantId, msg);
        checkRevocable(run);
        run.revoke = { actor: message.actor, reason: message.reason };
      } else run.revoke = msg as RevokeRequest;
      await wf.condition(() => status.credential.revokedReason !== null || isAccessTerminal(status.state));
      return stage.snapshot();
    },
    {
      validator: (msg: RevokeMessage) => {
        requireMessage(msg);
        if (!run.attested && typeof msg.actor !== 'string') throw reject('unattested', 'the message carries no attested revocation');
        checkRevocable(run);
      },
    },
  );

  wf.setHandler(credentialFetchedSignal, async (msg?: Attested) => {
    if (!run.attested) {
      status.credential.fetched = true;
      return;
    }
    // A signal cannot be refused: one that is not confirmed is audited by the activity and dropped.
    const ok = await confirmed('access.credential_fetched', grantId, msg).then(
      () => true,
      () => false,
    );
    if (ok) status.credential.fetched = true;
  });
  wf.setHandler(accessLinkRedeemedSignal, async (msg) => {
    if (!isMessage(msg) || typeof msg.tokenId !== 'string') return;
    const { tokenId } = msg;
    // A hint sent before the API's COMMIT: Postgres says whether the link is really used.
    if (stage.recordFirst && !(await acts.confirmRedemption({ tokenId, workflowId: wf.workflowInfo().workflowId })).used) return;
    run.redeemedTokens.add(tokenId);
    if (tokenId === run.confirmationTokenId) run.confirmed = true;
  });
}

/** What an old run's message claimed; one without those claims is not a decision at all. */
function legacyActor(m: AccessDecision | AccessReview): Actor {
  if (typeof m.principalId !== 'string' || !Array.isArray(m.roles) || !Array.isArray(m.tenantScope)) {
    throw reject('unattested', 'the message carries no attested principal');
  }
  return { principalId: m.principalId, roles: m.roles, tenantScope: m.tenantScope };
}

function checkDecisionsOpen(run: AccessRun): void {
  const { status, stage } = run;
  if (status.state !== 'awaiting_approval' || stage.denied() || stage.approvals() >= ACCESS_REQUIRED_APPROVALS || run.revoke) {
    throw reject('approval_closed', `the grant is ${status.state}: decisions are closed`);
  }
  if (stage.deadlinePassed()) throw reject('approval_closed', 'the approval deadline has passed');
}

/** Two distinct break-glass approvers in scope, neither of them the requester. */
function checkApprover(run: AccessRun, d: Actor): void {
  checkDecisionsOpen(run);
  if (d.principalId === run.input.requestedBy) throw reject('requester_cannot_approve', 'the requester never approves their own emergency access');
  if (!d.roles.includes('break_glass_approver')) throw reject('approver_lacks_role', 'deciding needs the break_glass_approver role');
  if (!coversTenant(d.tenantScope, run.input.tenantId)) throw reject('approver_out_of_scope', "the approver's scope does not include this tenant");
  if (run.stage.hasDecided(d.principalId, d.personId)) throw reject('already_decided', 'this approver has already decided');
}

function checkReviewOpen(run: AccessRun): void {
  if (run.status.state !== 'awaiting_review' || run.status.review) throw reject('review_not_open', `the grant is ${run.status.state}: no review is open`);
}

/** The reviewer is independent: neither the requester nor anyone who decided. */
function checkReviewer(run: AccessRun, r: Actor): void {
  checkReviewOpen(run);
  if (!r.roles.includes('reviewer')) throw reject('reviewer_lacks_role', 'a review needs the reviewer role');
  if (r.principalId === run.input.requestedBy || run.stage.hasDecided(r.principalId, r.personId)) {
    throw reject('reviewer_not_independent', 'the reviewer was neither the requester nor an approver');
  }
  if (!coversTenant(r.tenantScope, run.input.tenantId)) throw reject('reviewer_out_of_scope', "the reviewer's scope does not include this tenant");
}

function checkRevocable(run: AccessRun): void {
  if (run.revoke || !ACCESS_REVOCABLE_STATES.includes(run.status.state)) {
    throw reject('not_revocable', `the grant is ${run.status.state}: nothing left to revoke`);
  }
}
