// Messages of the invitation workflow (onboarding without SSO), shared by the workflow and the
// API. Every field ends up in workflow history: ids, states and durations, never a token, TOTP
// secret, code or password.
import { defineQuery, defineSignal } from '@temporalio/workflow';

export interface InvitationWorkflowInput {
  invitationId: string;
  tenantId: string;
  accountId: string;
  /** How long the link lives (policy, at most 24 h). */
  ttlSeconds: number;
  /** Whether the server has the custom search attributes registered. */
  searchAttributes: boolean;
}

export const INVITATION_STATES = ['issuing', 'pending', 'registering', 'registered', 'expired', 'failed'] as const;
export type InvitationState = (typeof INVITATION_STATES)[number];

export interface InvitationStatus {
  invitationId: string;
  tenantId: string;
  accountId: string;
  kind: 'invitation';
  state: InvitationState;
  waitingFor: string | null;
  /** Kept for the shared stage helpers: an invitation needs no approvals. */
  approvals: { required: number; received: never[] };
  deadlines: { linkExpiresAt?: string };
  currentDeadline: string | null;
}

export interface InvitationOutcome {
  invitationId: string;
  state: InvitationState;
}

export type InvitationWorkflow = (input: InvitationWorkflowInput) => Promise<InvitationOutcome>;

export const invitationStatusQuery = defineQuery<InvitationStatus>('status');
/** The invitee set the password: the API consumed the link's token; only its id travels. */
export const invitationRegisteredSignal = defineSignal<[{ tokenId: string }]>('invitationRegistered');

/** What an invitation's factor is enrolled by: only this invitation's link confirms or replaces it. */
export const invitationEnrolment = (invitationId: string) => `invitation:${invitationId}`;
