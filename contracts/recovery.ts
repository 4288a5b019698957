// Messages of the recovery workflow, shared by the workflow and the API. Every field here ends
// up in workflow history: opaque ids and outcomes only, never a token, password or answer.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TierRequirement } from '../domain/policy';
import type { Reason, RecoveryKind, RecoveryState, RiskTier, Route, TerminalState, Tier } from '../domain/types';

export interface RecoveryWorkflowInput {
  recoveryId: string;
  tenantId: string;
  accountId: string;
  kind: RecoveryKind;
  requestedBy: string;
  /** Whether the server has the custom search attributes registered. */
  searchAttributes: boolean;
}

export interface RecoveryOutcome {
  recoveryId: string;
  state: TerminalState;
  reasons: string[];
}

/** The workflow's signature, so the API starts it typed without importing workflow code. */
export type RecoveryWorkflow = (input: RecoveryWorkflowInput) => Promise<RecoveryOutcome>;

export interface ApprovalRecord {
  principalId: string;
  decision: 'approve' | 'deny';
  comment: string;
  at: string;
}

export interface RecoveryStatus {
  recoveryId: string;
  tenantId: string;
  accountId: string;
  kind: RecoveryKind;
  state: RecoveryState;
  /** What the recovery waits for now, in words a person reads. */
  waitingFor: string | null;
  riskTier: RiskTier | null;
  route: Route | null;
  reasons: Reason[];
  tiers: { required: TierRequirement | null; passed: Tier[]; failedAttempts: number; attemptsLeft: number | null };
  approvals: { required: number; received: ApprovalRecord[] };
  deadlines: { verifyBy?: string; approveBy?: string; waitUntil?: string; linkExpiresAt?: string };
  /** The deadline of the current stage (ISO). Remaining time is computed by the reader: a query sees the workflow's clock as of its last task. */
  currentDeadline: string | null;
  manualReview: boolean;
  outcome: string | null;
}

/** Who is deciding, as the API read it from the principal's record. The workflow's validator checks it. */
export interface ApprovalRequest {
  principalId: string;
  roles: string[];
  tenantScope: string[];
  /** The account this principal is, if any: an owner never approves their own recovery. */
  account: { tenantId: string; accountId: string } | null;
  decision: 'approve' | 'deny';
  comment: string;
}

export interface ApprovalResult {
  counted: boolean;
  decision: 'approve' | 'deny';
  approvals: { required: number; received: ApprovalRecord[] };
  state: RecoveryState;
}

export type VerificationSubmission =
  { tier: 1; actor: string; passed: boolean; factorsChecked: number } | { tier: 2; actor: string } | { tier: 3; actor: string; channel: 'email' };

export interface VerificationResult {
  tier: Tier;
  passed: boolean;
  evidence: string[];
  state: RecoveryState;
  attemptsLeft: number | null;
}

export interface CancelRequest {
  actor: string;
  via: 'agent' | 'owner';
  reason: string;
}

export const statusQuery = defineQuery<RecoveryStatus>('status');
/** Resolves once triage has decided, so the API can answer the create call with the outcome. */
export const triagedUpdate = defineUpdate<RecoveryStatus>('awaitTriage');
export const submitVerificationUpdate = defineUpdate<VerificationResult, [VerificationSubmission]>('submitVerification');
export const cancelUpdate = defineUpdate<RecoveryStatus, [CancelRequest]>('cancel');
export const decideUpdate = defineUpdate<ApprovalResult, [ApprovalRequest]>('decide');
/** The API consumed the link's token and staged the credential; only the token's id travels. */
export const linkRedeemedSignal = defineSignal<[{ tokenId: string }]>('linkRedeemed');
