// One emergency-access grant's run: the state its handlers and stages share, and how it ends.
import * as wf from '@temporalio/workflow';
import type { AccessOutcome, AccessStatus, AccessWorkflowInput, RevokeRequest } from '../contracts/access';
import { ACCESS_REQUIRED_APPROVALS, type AccessState } from '../domain/access';
import { attestsMessages } from './messages';
import { createStage, type Stage } from './stage';

export interface AccessRun {
  input: AccessWorkflowInput;
  status: AccessStatus;
  stage: Stage<AccessStatus>;
  /** Messages count only once their attestation is confirmed (patch `attested-messages`). */
  attested: boolean;
  /** Revoked (or, before the credential, cancelled) on demand. */
  revoke: RevokeRequest | null;
  confirmationTokenId: string | null;
  confirmed: boolean;
  /** The contact may use the link before the issuing activity's result is in: remember every id. */
  redeemedTokens: Set<string>;
}

export function startRun(input: AccessWorkflowInput): AccessRun {
  const { grantId, tenantId, accountId, kind } = input;
  const status: AccessStatus = {
    grantId,
    tenantId,
    accountId,
    kind,
    state: 'requested',
    waitingFor: null,
    approvals: { required: ACCESS_REQUIRED_APPROVALS, received: [] },
    deadlines: {},
    currentDeadline: null,
    credential: { issued: false, fetched: false, revokedReason: null },
    rotated: null,
    review: null,
    reviewReminders: 0,
    escalated: { approvals: false, review: false },
  };
  const stage = createStage({
    status,
    searchAttributes: input.searchAttributes,
    // Emergency access is high risk by definition.
    riskTier: () => 'high',
    summaryShowsDeadline: true,
    record: (books, t) => books.recordGrantTransition({ grantId, tenantId, ...t }),
  });
  return { input, status, stage, attested: attestsMessages(), revoke: null, confirmationTokenId: null, confirmed: false, redeemedTokens: new Set<string>() };
}

/** Records a terminal state. */
export async function end(run: AccessRun, state: AccessState, action: string, details: Record<string, unknown> = {}, actor = 'system') {
  run.stage.clearDeadline();
  await run.stage.enter(state, null, action, details, actor);
}

/** A grant cancelled before its credential was issued. */
export const endCancelled = (run: AccessRun) => end(run, 'cancelled', 'access.cancelled', { reason: run.revoke!.reason }, run.revoke!.actor);

/** The workflow's result, once every handler has answered. */
export async function finish(run: AccessRun): Promise<AccessOutcome> {
  await wf.condition(wf.allHandlersFinished);
  return { grantId: run.input.grantId, state: run.status.state };
}
