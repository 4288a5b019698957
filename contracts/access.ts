// Messages of the emergency-access workflow (break-glass, SSO bypass). As for recoveries: ids
// and outcomes only; the credential itself never travels through Temporal.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AccessKind, AccessState, AccessTimings } from '../domain/access';
import type { Attested } from './attested';

export interface AccessWorkflowInput {
  grantId: string;
  tenantId: string;
  accountId: string;
  kind: AccessKind;
  requestedBy: string;
  durationSeconds: number;
  timings: AccessTimings;
  searchAttributes: boolean;
}

export interface AccessOutcome {
  grantId: string;
  state: AccessState;
}

/** The workflow's signature, so the API starts it typed without importing workflow code. */
export type AccessWorkflow = (input: AccessWorkflowInput) => Promise<AccessOutcome>;

export interface AccessDecisionRecord {
  principalId: string;
  /** Who the principal is (runs before patch `attested-messages` kept principals only). */
  personId?: string;
  decision: 'approve' | 'deny';
  comment: string;
  at: string;
}

export interface AccessStatus {
  grantId: string;
  tenantId: string;
  accountId: string;
  kind: AccessKind;
  state: AccessState;
  waitingFor: string | null;
  approvals: { required: number; received: AccessDecisionRecord[] };
  deadlines: { confirmBy?: string; approveBy?: string; credentialExpiresAt?: string };
  currentDeadline: string | null;
  credential: { issued: boolean; fetched: boolean; revokedReason: string | null };
  rotated: boolean | null;
  review: { principalId: string; outcome: 'appropriate' | 'inappropriate'; notes: string; at: string } | null;
  reviewReminders: number;
  escalated: { approvals: boolean; review: boolean };
}

/**
 * A decision. The workflow believes only the attestation it names; decision and comment are for
 * display. The other fields are what runs started before patch `attested-messages` read.
 */
export interface AccessDecision extends Attested {
  decision: 'approve' | 'deny';
  comment: string;
  principalId?: string;
  roles?: string[];
  tenantScope?: string[];
}

/** A review: as for decisions, only the attestation is believed. */
export interface AccessReview extends Attested {
  outcome: 'appropriate' | 'inappropriate';
  notes: string;
  principalId?: string;
  roles?: string[];
  tenantScope?: string[];
}

export interface RevokeRequest {
  actor: string;
  reason: string;
}

/** What the revoke Update carries: the attestation (old runs read the request itself). */
export type RevokeMessage = Attested & Partial<RevokeRequest>;

export const accessStatusQuery = defineQuery<AccessStatus>('status');
export const accessDecideUpdate = defineUpdate<AccessStatus, [AccessDecision]>('decide');
export const accessReviewUpdate = defineUpdate<AccessStatus, [AccessReview]>('review');
export const accessRevokeUpdate = defineUpdate<AccessStatus, [RevokeMessage]>('revoke');
/** The requester picked the credential up (status only; the pickup itself is the API's). Old runs' signal had no argument. */
export const credentialFetchedSignal = defineSignal<[Attested?]>('credentialFetched');
/** Same name as the recovery signal: the links route signals whichever workflow owns the token. */
export const accessLinkRedeemedSignal = defineSignal<[{ tokenId: string }]>('linkRedeemed');
