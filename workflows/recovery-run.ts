// One recovery's run: the state its handlers and stages share, and the ways a run ends.
import * as wf from '@temporalio/workflow';
import type { LinkRequest } from '../contracts/activities';
import type { CancelRequest, RecoveryOutcome, RecoveryStatus, RecoveryWorkflowInput } from '../contracts/recovery';
import type { Policy } from '../domain/policy';
import type { TerminalState } from '../domain/types';
import { attestsMessages } from './messages';
import { acts, isDeliveryRefused } from './proxies';
import { createStage, type Stage } from './stage';

export interface RecoveryRun {
  input: RecoveryWorkflowInput;
  status: RecoveryStatus;
  stage: Stage<RecoveryStatus>;
  /** Messages count only once their attestation is confirmed (patch `attested-messages`). */
  attested: boolean;
  /** Cancels being confirmed: the waiting period does not end under one. */
  cancelsPending: number;
  /** Set by triage; the verification handler waits for it. */
  policy: Policy | null;
  /** Triage has decided (or the run has ended): the create call can be answered. */
  triaged: boolean;
  /** The end is being recorded: nothing can be cancelled any more. */
  closing: boolean;
  ended: boolean;
  /** The directory change has begun: too late to cancel. */
  applied: boolean;
  cancelled: CancelRequest | null;
  verificationFailed: boolean;
  possessionLinkId: string | null;
  /** Set when a link could not be delivered: the recovery cannot go on without it. */
  deliveryFailed: { purpose: string; step: string } | null;
  /** The owner may click faster than the issuing activity completes: remember every redemption. */
  redeemedTokens: Set<string>;
}

export function startRun(input: RecoveryWorkflowInput): RecoveryRun {
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
  const stage = createStage({
    status,
    searchAttributes: input.searchAttributes,
    riskTier: () => status.riskTier,
    summaryShowsDeadline: false,
    record: (books, t) => books.recordTransition({ recoveryId, tenantId, ...t, riskTier: status.riskTier, route: status.route, reasons: status.reasons }),
  });
  return {
    input,
    status,
    stage,
    attested: attestsMessages(),
    cancelsPending: 0,
    policy: null,
    triaged: false,
    closing: false,
    ended: false,
    applied: false,
    cancelled: null,
    verificationFailed: false,
    possessionLinkId: null,
    deliveryFailed: null,
    redeemedTokens: new Set<string>(),
  };
}

/** Records a terminal state; from then on nothing can be cancelled and the create call is answered. */
export async function end(run: RecoveryRun, state: TerminalState, action: string, details: Record<string, unknown> = {}, actor = 'system') {
  run.closing = true;
  run.stage.clearDeadline();
  if (!run.stage.recordFirst) run.status.outcome = state;
  await run.stage.enter(state, null, action, details, actor);
  run.status.outcome = state;
  run.triaged = true;
  run.ended = true;
}

// Notices go out before the terminal state is recorded: once it is, the workflow closes and
// the same account may start a new recovery at once.
export async function endCancelled(run: RecoveryRun) {
  const { recoveryId, tenantId } = run.input;
  const c = run.cancelled!;
  await acts.alertSecurity({
    recoveryId,
    tenantId,
    step: 'alert-cancelled',
    template: 'recovery_cancelled',
    reasons: [{ code: `cancelled_by_${c.via}`, detail: c.reason }],
  });
  await end(run, 'cancelled', 'recovery.cancelled', { via: c.via, reason: c.reason }, c.actor);
}

export const endUndelivered = (run: RecoveryRun) =>
  end(run, 'failed', 'recovery.delivery_failed', { ...run.deliveryFailed, note: 'the mail server refused the link permanently; the token is invalidated' });

/** Issues a link; a permanent delivery refusal returns null and sets `deliveryFailed`. */
export async function sendLink(run: RecoveryRun, args: LinkRequest) {
  try {
    return await acts.issueLink(args);
  } catch (err) {
    if (!isDeliveryRefused(err)) throw err;
    run.deliveryFailed = { purpose: args.purpose, step: args.step };
    return null;
  }
}

/** The workflow's result, once every handler has answered. */
export async function finish(run: RecoveryRun): Promise<RecoveryOutcome> {
  await wf.condition(wf.allHandlersFinished);
  return { recoveryId: run.input.recoveryId, state: run.status.state as TerminalState, reasons: run.status.reasons.map((r) => r.code) };
}
