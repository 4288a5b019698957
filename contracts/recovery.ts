// Messages of the recovery workflow, shared by the workflow and the API. Every field here ends
// up in workflow history: opaque ids and outcomes only, never a token, password or answer.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TierRequirement } from '../domain/policy';
import type { Attested } from './attested';
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
  /** Who the principal is (runs before patch `attested-messages` kept principals only). */
  personId?: string;
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

/**
 * A decision. The workflow believes only the attestation it names (the API's MACed record of who
 * decided, with roles and scope as loaded from Postgres); decision and comment are for display.
 * The other fields are what runs started before patch `attested-messages` read; never believed since.
 */
export interface ApprovalRequest extends Attested {
  decision: 'approve' | 'deny';
  comment: string;
  principalId?: string;
  roles?: string[];
  tenantScope?: string[];
  /** The account this principal is, if any: an owner never approves their own recovery. */
  account?: { tenantId: string; accountId: string } | null;
}

export interface ApprovalResult {
  counted: boolean;
  decision: 'approve' | 'deny';
  approvals: { required: number; received: ApprovalRecord[] };
  state: RecoveryState;
}

/** A verification as the API established it (tier 1: the answers were checked and dropped there). */
export type VerificationSubmission =
  | { tier: 1; actor: string; passed: boolean; factorsChecked: number }
  | { tier: 2; actor: string }
  | { tier: 3; actor: string; channel: 'email' }
  /** A code from the enrolled authenticator, checked (and its step used up) by the API; only the outcome travels. */
  | { tier: 3; actor: string; channel: 'totp'; passed: boolean; reused: boolean };

/** What the verification Update carries: the attestation, and the tier for display and cheap checks. Old runs read the submission itself. */
export type VerificationMessage = Attested & { tier: 1 | 2 | 3 } & Partial<{
    actor: string;
    passed: boolean;
    factorsChecked: number;
    channel: 'email' | 'totp';
  }>;

export interface VerificationResult {
  tier: Tier;
  passed: boolean;
  evidence: string[];
  state: RecoveryState;
  attemptsLeft: number | null;
}

export interface CancelRequest {
  actor: string;
  via: 'agent' | 'owner' | 'deprovision';
  reason: string;
}

/** What the cancel Update carries: the attestation (old runs read the request itself). */
export type CancelMessage = Attested & Partial<CancelRequest>;

export const statusQuery = defineQuery<RecoveryStatus>('status');
/** Resolves once triage has decided, so the API can answer the create call with the outcome. */
export const triagedUpdate = defineUpdate<RecoveryStatus>('awaitTriage');
export const submitVerificationUpdate = defineUpdate<VerificationResult, [VerificationMessage]>('submitVerification');
export const cancelUpdate = defineUpdate<RecoveryStatus, [CancelMessage]>('cancel');
export const decideUpdate = defineUpdate<ApprovalResult, [ApprovalRequest]>('decide');
/** The API consumed the link's token and staged the credential; only the token's id travels. */
export const linkRedeemedSignal = defineSignal<[{ tokenId: string }]>('linkRedeemed');
