// What a recovery answers while it runs: its status, verification submissions, approval
// decisions, cancellation, and the signal that a link was used. Validators run before an update
// enters history, so their refusals leave no trace; they check shape and state only, and the
// handlers count a message once its attestation is confirmed (workflows/messages.ts).
import * as wf from '@temporalio/workflow';
import {
  cancelUpdate,
  decideUpdate,
  linkRedeemedSignal,
  statusQuery,
  submitVerificationUpdate,
  triagedUpdate,
  type ApprovalRequest,
  type ApprovalResult,
  type CancelMessage,
  type CancelRequest,
  type VerificationMessage,
  type VerificationResult,
  type VerificationSubmission,
} from '../contracts/recovery';
import { coversTenant } from '../domain/scope';
import { isTerminal, type Tier } from '../domain/types';
import { confirmed, isMessage, principalOf, requireMessage } from './messages';
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

  wf.setHandler(submitVerificationUpdate, (msg) => verificationHandler(run, msg), {
    validator: (msg: VerificationMessage) => {
      requireMessage(msg);
      if (!run.attested && !isLegacySubmission(msg)) throw reject('unattested', 'the message carries no attested verification');
      checkVerifying(run, msg.tier);
    },
  });

  wf.setHandler(decideUpdate, (msg) => decisionHandler(run, msg), {
    // Separation of duties (invariant 3): on what the message claims in old runs; in newer runs
    // the claim is not believed, so only the state is checked here and the rest on verified facts.
    validator: (msg: ApprovalRequest) => {
      requireMessage(msg);
      if (run.attested) checkDecisionsOpen(run);
      else checkApprover(run, legacyApproval(msg));
    },
  });

  wf.setHandler(
    cancelUpdate,
    async (msg) => {
      if (run.attested) {
        run.cancelsPending++;
        try {
          const { message } = await confirmed('recovery.cancel', run.input.recoveryId, msg);
          checkCancellable(run);
          run.cancelled = { actor: message.actor, via: message.via, reason: message.reason };
        } finally {
          run.cancelsPending--;
        }
      } else run.cancelled = msg as CancelRequest;
      // Answer once the end is recorded, so the caller's next read already sees it.
      await wf.condition(() => run.ended);
      return stage.snapshot();
    },
    {
      validator: (msg: CancelMessage) => {
        requireMessage(msg);
        if (!run.attested && (typeof msg.actor !== 'string' || typeof msg.reason !== 'string'))
          throw reject('unattested', 'the message carries no attested cancel');
        checkCancellable(run);
      },
    },
  );

  wf.setHandler(linkRedeemedSignal, async (msg) => {
    // A signal cannot be refused: one without a readable token id is dropped, not thrown on.
    if (!isMessage(msg) || typeof msg.tokenId !== 'string') return;
    const { tokenId } = msg;
    // The signal is a hint sent before the API's COMMIT: Postgres says whether the link is used.
    if (stage.recordFirst && !(await acts.confirmRedemption({ tokenId, workflowId: wf.workflowInfo().workflowId })).used) return;
    // Which link counts is decided where it is awaited; a stray id changes nothing.
    run.redeemedTokens.add(tokenId);
    if (tokenId === run.possessionLinkId && status.state === 'verifying' && !status.tiers.passed.includes(3)) status.tiers.passed.push(3);
  });
}

async function verificationHandler(run: RecoveryRun, msg: VerificationMessage): Promise<VerificationResult> {
  if (!run.attested) return submitVerification(run, msg as VerificationSubmission);
  const { message } = await confirmed('recovery.verify', run.input.recoveryId, msg);
  // The state may have moved while the attestation was confirmed.
  checkVerifying(run, message.tier);
  // Tier 3 goes through a channel other than the factor being reset.
  if (message.tier === 3 && message.channel === 'totp' && run.input.kind === 'mfa_reset')
    throw reject('channel_not_allowed', 'channel: an MFA reset cannot be verified with the authenticator it resets');
  return submitVerification(run, message);
}

async function decisionHandler(run: RecoveryRun, msg: ApprovalRequest): Promise<ApprovalResult> {
  const { status, stage } = run;
  const { recoveryId, tenantId, accountId } = run.input;
  let req: Approval;
  if (run.attested) {
    const facts = await confirmed('recovery.decide', recoveryId, msg);
    req = { ...principalOf(facts), ...facts.message };
    // On the verified facts, and after the await: the state may have moved meanwhile.
    checkApprover(run, req);
  } else req = legacyApproval(msg);
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
}

/** A decider as separation of duties judges one: verified facts, or an old run's claim. */
type Approval = Required<Pick<ApprovalRequest, 'principalId' | 'roles' | 'tenantScope' | 'account' | 'decision' | 'comment'>> & { personId?: string };

function legacyApproval(msg: ApprovalRequest): Approval {
  if (typeof msg.principalId !== 'string' || !Array.isArray(msg.roles) || !Array.isArray(msg.tenantScope)) {
    throw reject('unattested', 'the message carries no attested decision');
  }
  return { ...msg, principalId: msg.principalId, roles: msg.roles, tenantScope: msg.tenantScope, account: msg.account ?? null };
}

const isLegacySubmission = (msg: VerificationMessage) => typeof msg.actor === 'string' && (msg.tier !== 1 || typeof msg.passed === 'boolean');

function checkVerifying(run: RecoveryRun, tier: unknown): void {
  const { status } = run;
  if (status.state !== 'verifying' || run.verificationFailed || run.cancelled || run.deliveryFailed)
    throw reject('invalid_state', `the recovery is ${status.state}, not verifying`);
  if (tier !== 1 && tier !== 2 && tier !== 3) throw reject('malformed_message', 'tier: 1, 2 or 3');
  if (tier !== 1 && status.tiers.passed.includes(tier)) throw reject('already_verified', `tier ${tier} has already passed`);
}

function checkCancellable(run: RecoveryRun): void {
  const { status } = run;
  if (isTerminal(status.state) || run.closing || run.cancelled)
    throw reject('invalid_state', `the recovery is already ${run.closing ? 'ending' : status.state}`);
  if (status.state === 'finalising' || run.applied) throw reject('invalid_state', 'the recovery has been applied and can no longer be cancelled');
}

function checkDecisionsOpen(run: RecoveryRun): void {
  const { status, stage } = run;
  if (status.state !== 'awaiting_approval' || run.cancelled || stage.denied() || stage.approvals() >= status.approvals.required) {
    throw reject('approval_closed', `the recovery is ${status.state}: decisions are closed`);
  }
  if (stage.deadlinePassed()) throw reject('approval_closed', 'the approval deadline has passed');
}

function checkApprover(run: RecoveryRun, req: Approval): void {
  const { stage } = run;
  const { tenantId, accountId, requestedBy } = run.input;
  checkDecisionsOpen(run);
  if (req.principalId === requestedBy) throw reject('requester_cannot_approve', 'the requester of a recovery never approves it');
  if (req.account && req.account.tenantId === tenantId && req.account.accountId === accountId) {
    throw reject('owner_cannot_approve', 'the account owner never approves their own recovery');
  }
  if (!coversTenant(req.tenantScope, tenantId)) throw reject('approver_out_of_scope', "the approver's scope does not include this tenant");
  if (!req.roles.includes('approver')) throw reject('approver_lacks_role', 'deciding needs the approver role');
  if (stage.hasDecided(req.principalId, req.personId)) throw reject('already_decided', 'this approver has already decided');
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
  } else if (sub.channel === 'totp') {
    passed = sub.passed;
    evidence = [
      passed
        ? 'possession of the enrolled authenticator (TOTP code matched)'
        : sub.reused
          ? 'the TOTP code was used already within its window'
          : 'the TOTP code did not match',
    ];
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
  const tier: Tier = sub.tier;
  if (passed && !status.tiers.passed.includes(tier)) status.tiers.passed.push(tier);
  if (!passed) status.tiers.failedAttempts++;
  const max = run.policy!.maxFailedVerifications;
  status.tiers.attemptsLeft = Math.max(0, max - status.tiers.failedAttempts);
  if (!passed && status.tiers.failedAttempts >= max) run.verificationFailed = true;
  await acts.recordVerification({ recoveryId, tenantId, accountId, step: stage.step('verification'), actor: sub.actor, tier, passed, evidence });
  return { tier, passed, evidence, state: status.state, attemptsLeft: status.tiers.attemptsLeft };
}
