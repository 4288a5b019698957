// What a workflow learns from an attestation: the facts the API recorded (and MACed) when it sent
// a message on a principal's behalf. Workflows act on these, never on what a message claims.
import type { CancelRequest, VerificationSubmission } from './recovery';

/** Every kind of message the API attests, with what it records for each. */
export interface AttestedMessages {
  'recovery.decide': { decision: 'approve' | 'deny'; comment: string };
  'recovery.verify': VerificationSubmission;
  /** An owner's cancel names the link token used for it: the token must be used for this workflow. */
  'recovery.cancel': CancelRequest & { tokenId?: string };
  'access.decide': { decision: 'approve' | 'deny'; comment: string };
  'access.review': { outcome: 'appropriate' | 'inappropriate'; notes: string };
  'access.revoke': { actor: string; reason: string };
  'access.credential_fetched': { actor: string };
  'risk.decide': { decision: 'reverse' | 'acknowledge'; reason: string };
}
export type AttestationKind = keyof AttestedMessages;

/** The principal as the API loaded it from Postgres when it sent the message. */
export interface AttestedPrincipal {
  principalId: string;
  /** The person behind the key: one person counts once, whatever keys they hold. */
  personId: string;
  roles: string[];
  tenantScope: string[];
  account: { tenantId: string; accountId: string } | null;
}

export interface AttestedFacts<K extends AttestationKind = AttestationKind> {
  /** Null when nobody signed in sent it (the owner's cancel link). */
  principal: AttestedPrincipal | null;
  message: AttestedMessages[K];
}

/** Why a message was not believed. */
export type UnattestedReason = 'unattested' | 'mac_mismatch' | 'wrong_case' | 'reused';

export type Confirmation<K extends AttestationKind> = { valid: true; facts: AttestedFacts<K> } | { valid: false; reason: UnattestedReason };

export interface ConfirmRequest<K extends AttestationKind> {
  /** As the message carried it: anything, including nothing. */
  attestationId: string | null;
  kind: K;
  /** The recovery or grant the workflow runs. */
  caseId: string;
  workflowId: string;
}
