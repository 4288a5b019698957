// What a recovery answers while it runs: its status, verification submissions, approval
// decisions, cancellation, and the signal that a link was used. Validators run before an update
// enters history, so every refusal here leaves no trace in the workflow.
import * as wf from '@temporalio/workflow';
import {
  cancelUpdate,
  decideUpdate,
  linkRedeemedSignal,
  statusQuery,
  submitVerificationUpdate,
  triagedUpdate,
  type ApprovalRequest,
  type CancelRequest,
  type VerificationResult,
  type VerificationSubmission,
} from '../contracts/recovery';
import { coversTenant } from '../domain/scope';
import { isTerminal, type Tier } from '../domain/types';
import { acts } from './proxies';
import { sendLink, type RecoveryRun } from './recovery-run';
import { reject } from './stage';

/** Registers every handler; call before the first await. */
export function installHandlers(run: RecoveryRun): void {
  const { status, stage } = run;
  wf.setHandler(statusQuery, stage.snapshot);
  wf.setHandler(triagedUpdate, async () => {
    await wf.condition(() => run.triaged);
    return stage.snapshot();
  });

  wf.setHandler(submitVerificationUpdate, (sub) => submitVerification(run, sub), {
    validator: (sub: VerificationSubmission) => {
      if (status.state !== 'verifying' || run.verificationFailed || run.cancelled || run.deliveryFailed)
        throw reject('invalid_state', `the recovery is ${status.state}, not verifying`);
      if (sub.tier !== 1 && status.tiers.passed.includes(sub.tier)) throw reject('already_verified', `tier ${sub.tier} has already passed`);
    },
  });

  wf.setHandler(
    decideUpdate,
    async (req) => {
      const { recoveryId, tenantId, accountId } = run.input;
      stage.addDecision(req);
      await acts.recordDecision({
        recoveryId,
        tenantId,
        accountId,
        step: stage.step('decision'),
        principalId: req.principalId,
        decision: req.decision,
        comment: req.comment,
        approvalsSoFar: stage.approvals(),
        required: status.approvals.required,
      });
      return { counted: true, decision: req.decision, approvals: { ...status.approvals }, state: status.state };
    },
    // Separation of duties (invariant 3), checked before the decision enters history.
    { validator: (req: ApprovalRequest) => checkApprover(run, req) },
  );

  wf.setHandler(
    cancelUpdate,
    async (req) => {
      run.cancelled = req;
      // Answer once the end is recorded, so the caller's next read already sees it.
      await wf.condition(() => run.ended);
      return stage.snapshot();
    },
    {
      validator: (_req: CancelRequest) => {
        if (isTerminal(status.state) || run.closing || run.cancelled)
          throw reject('invalid_state', `the recovery is already ${run.closing ? 'ending' : status.state}`);
        if (status.state === 'finalising' || run.applied) throw reject('invalid_state', 'the recovery has been applied and can no longer be cancelled');
      },
    },
  );

  wf.setHandler(linkRedeemedSignal, async ({ tokenId }) => {
    // The signal is a hint sent before the API's COMMIT: Postgres says whether the link is used.
    if (stage.recordFirst && !(await acts.confirmRedemption({ tokenId, workflowId: wf.workflowInfo().workflowId })).used) return;
    // Which link counts is decided where it is awaited; a stray id changes nothing.
    run.redeemedTokens.add(tokenId);
    if (tokenId === run.possessionLinkId && status.state === 'verifying' && !status.tiers.passed.includes(3)) status.tiers.passed.push(3);
  });
}

function checkApprover(run: RecoveryRun, req: ApprovalRequest): void {
  const { status, stage } = run;
  const { tenantId, accountId, requestedBy } = run.input;
  if (status.state !== 'awaiting_approval' || run.cancelled || stage.denied() || stage.approvals() >= status.approvals.required) {
    throw reject('approval_closed', `the recovery is ${status.state}: decisions are closed`);
  }
  if (stage.deadlinePassed()) throw reject('approval_closed', 'the approval deadline has passed');
  if (req.principalId === requestedBy) throw reject('requester_cannot_approve', 'the requester of a recovery never approves it');
  if (req.account && req.account.tenantId === tenantId && req.account.accountId === accountId) {
    throw reject('owner_cannot_approve', 'the account owner never approves their own recovery');
  }
  if (!coversTenant(req.tenantScope, tenantId)) throw reject('approver_out_of_scope', "the approver's scope does not include this tenant");
  if (!req.roles.includes('approver')) throw reject('approver_lacks_role', 'deciding needs the approver role');
  if (stage.hasDecided(req.principalId)) throw reject('already_decided', 'this approver has already decided');
}

/** Tier 1 is the agent's knowledge check, tier 2 the behaviour evaluation, tier 3 a link. */
async function submitVerification(run: RecoveryRun, sub: VerificationSubmission): Promise<VerificationResult> {
  const { status, stage } = run;
  const { recoveryId, tenantId, accountId, kind } = run.input;
  // On replay validators do not run, and an update accepted in the same task as the triage
  // result can reach this handler before `policy` is set: wait for it (no command if set).
  await wf.condition(() => run.policy !== null);
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
    const link = await sendLink(run, {
      recoveryId,
      step: stage.step('possession-link'),
      purpose: 'verify_possession',
      ttlSeconds: run.policy!.tokenTtlSeconds,
      to: 'primary',
    });
    if (!link) {
      evidence = ['the possession link could not be delivered to the registered address'];
      return { tier: 3, passed: false, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
    }
    run.possessionLinkId = link.tokenId;
    evidence = ['a possession link was sent to the registered address; tier 3 passes when it is used'];
    await acts.recordVerification({
      recoveryId,
      tenantId,
      accountId,
      step: stage.step('verification'),
      actor: sub.actor,
      tier: 3,
      passed: false,
      pending: true,
      evidence,
    });
    return { tier: 3, passed: false, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
  }
  const tier = sub.tier as Tier;
  if (passed && !status.tiers.passed.includes(tier)) status.tiers.passed.push(tier);
  if (!passed) status.tiers.failedAttempts++;
  const max = run.policy!.maxFailedVerifications;
  status.tiers.attemptsLeft = Math.max(0, max - status.tiers.failedAttempts);
  if (!passed && status.tiers.failedAttempts >= max) run.verificationFailed = true;
  await acts.recordVerification({ recoveryId, tenantId, accountId, step: stage.step('verification'), actor: sub.actor, tier, passed, evidence });
  return { tier, passed, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
}
