// The activities the workflows call: names, inputs and results. The workflows proxy these types,
// and activities/ is checked against them, so neither side drifts without the compiler noticing.
// Inputs and results end up in workflow history: ids, counts and outcomes, never a secret.
import type { AccessReviewActivities } from './access-review';
import type { Policy } from '../domain/policy';
import type { AttestationKind, Confirmation, ConfirmRequest } from './attestations';
import type { TriageFacts } from '../domain/triage';
import type { Reason, Tier } from '../domain/types';

/** What a recovery's emailed link is for. */
export type LinkPurpose = 'password_reset' | 'mfa_enrolment' | 'verify_possession' | 'cancel' | 'invitation';

/** The notices a recovery sends (besides links). */
export type NoticeTemplate =
  | 'password_changed'
  | 'mfa_reset'
  | 'security_alert'
  | 'recovery_cancelled'
  | 'approval_needed'
  | 'approval_reminder'
  | 'decision_approved'
  | 'decision_denied'
  | 'decision_expired';

export type DecisionTemplate = 'decision_approved' | 'decision_denied' | 'decision_expired';

export interface Recipients {
  recipients: number;
}

/** A recorded move of a case to a new state, audited once: idempotent by the case id plus `step`. */
interface Transition {
  tenantId: string;
  step: string;
  state: string;
  action: string;
  actor: string;
  details: Record<string, unknown>;
}

/**
 * The audit event that records a step: its key and place in the tenant's chain, so the step's
 * history event (a local activity's marker holds no input) names the evidence that accounts for it.
 * The workflows never read it, so histories recorded before it (no result) replay unchanged.
 */
export interface AuditedStep {
  eventKey: string;
  seq: number;
  action: string;
  state: string;
}

export interface RecoveryTransition extends Transition {
  recoveryId: string;
  riskTier: string | null;
  route: string | null;
  reasons: Reason[];
}

export interface VerificationRecord {
  recoveryId: string;
  tenantId: string;
  accountId: string;
  step: string;
  actor: string;
  tier: Tier;
  passed: boolean;
  /** Audited as pending: the tier passes later (a possession link was sent). */
  pending?: boolean;
  evidence: string[];
}

export interface DecisionRecord {
  recoveryId: string;
  tenantId: string;
  accountId: string;
  step: string;
  principalId: string;
  decision: 'approve' | 'deny';
  comment: string;
  approvalsSoFar: number;
  required: number;
}

export interface LinkRequest {
  recoveryId: string;
  step: string;
  purpose: LinkPurpose;
  ttlSeconds: number;
  /** The account's primary registered address, or every registered address. */
  to: 'primary' | 'all';
}

export interface IssuedLink {
  tokenId: string;
  expiresAt: string;
  recipients: number;
}

export interface RecoveryActivities {
  recordTransition: (i: RecoveryTransition) => Promise<AuditedStep>;
  assessRecovery: (i: { recoveryId: string }) => Promise<{ facts: TriageFacts; policy: Policy }>;
  evaluateBehaviour: (i: { recoveryId: string }) => Promise<{ consistent: boolean; evidence: string[] }>;
  recordVerification: (i: VerificationRecord) => Promise<void>;
  alertSecurity: (i: {
    recoveryId: string;
    tenantId: string;
    step: string;
    template: 'security_alert' | 'recovery_cancelled';
    reasons: Reason[];
  }) => Promise<void>;
  issueLink: (i: LinkRequest) => Promise<IssuedLink>;
  confirmRedemption: (i: { tokenId: string; workflowId: string }) => Promise<{ used: boolean }>;
  invalidateToken: (i: { tokenId: string; reason: string }) => Promise<void>;
  applyStagedPassword: (i: { recoveryId: string; tokenId: string }) => Promise<{ applied: boolean }>;
  revokeSessions: (i: { recoveryId: string; tenantId: string; accountId: string; reason: string }) => Promise<{ revoked: number }>;
  recordDecision: (i: DecisionRecord) => Promise<void>;
  notifyApprovers: (i: { recoveryId: string; step: string; template: 'approval_needed' | 'approval_reminder'; required: number }) => Promise<Recipients>;
  notifyRequester: (i: { recoveryId: string; step: string; template: DecisionTemplate }) => Promise<Recipients>;
  /** `enrolment` is absent in histories from before remote directories: read it as `link`. */
  removeMfaFactors: (i: { recoveryId: string }) => Promise<{ removed: number; enrolment?: 'link' | 'directory' }>;
  notifyAccount: (i: { recoveryId: string; step: string; template: NoticeTemplate }) => Promise<Recipients>;
}

export interface GrantTransition extends Transition {
  grantId: string;
}

export interface TargetRotation {
  /** False when the account has no local credential (SSO-managed): none is created. */
  rotated: boolean;
  sessionsRevoked: number;
  note: string;
}

export interface AccessActivities {
  recordGrantTransition: (i: GrantTransition) => Promise<AuditedStep>;
  issueContactConfirmation: (i: { grantId: string; step: string; ttlSeconds: number }) => Promise<{ tokenId: string }>;
  notifyAccessApprovers: (i: { grantId: string; step: string }) => Promise<Recipients>;
  notifyAccessRequester: (i: { grantId: string; step: string; template: DecisionTemplate }) => Promise<Recipients>;
  escalateAccess: (i: { grantId: string; step: string; template: 'access_approval_escalation' | 'access_review_escalation' }) => Promise<Recipients>;
  remindReviewers: (i: { grantId: string; step: string; template: 'review_needed' | 'review_reminder' }) => Promise<Recipients>;
  issueAccessCredential: (i: { grantId: string; ttlSeconds: number }) => Promise<{ credentialId: string; expiresAt: string }>;
  revokeAccessCredential: (i: { grantId: string; reason: string }) => Promise<{ sessionsRevoked: number }>;
  rotateTargetCredential: (i: { grantId: string }) => Promise<TargetRotation>;
}

/** An admin change of an existing account: applied once, then every old and new address told. */
export interface AccountChangeActivities {
  applyAccountChange: (i: { changeId: string }) => Promise<{ applied: boolean }>;
  notifyAccountChange: (i: { changeId: string }) => Promise<Recipients>;
}

export interface InvitationTransition extends Transition {
  invitationId: string;
}

/** Onboarding without SSO: the invitation's single link, its recorded states. */
export interface InvitationActivities {
  recordInvitationTransition: (i: InvitationTransition) => Promise<AuditedStep>;
  issueInvitationLink: (i: { invitationId: string; step: string; ttlSeconds: number }) => Promise<IssuedLink>;
}

/** What both case workflows call before they count a message sent on a principal's behalf. */
export interface AttestationActivities {
  confirmAttestation: <K extends AttestationKind>(i: ConfirmRequest<K>) => Promise<Confirmation<K>>;
}

/** What the internal security webhook is told of: a risk response fired, or a recovery refused for high risk. */
export type SecurityEvent = 'risk_response' | 'recovery_refused';

/** The risk-response workflow's steps; the reason of a decision is the admin's own words (audit). */
export interface RiskResponseActivities {
  /** Carries out the response once; `alert`: the tenant's security contacts are to be told. */
  applyRiskResponse: (i: { responseId: string }) => Promise<{ state: string; alert: boolean }>;
  alertRiskResponse: (i: { responseId: string; step: string }) => Promise<Recipients>;
  decideRiskResponse: (i: { responseId: string; decision: 'reverse' | 'acknowledge'; by: string; reason: string }) => Promise<{ state: string }>;
  closeRiskResponse: (i: { responseId: string }) => Promise<{ state: string }>;
  /**
   * Alerts the security contacts (when `alert`), then the webhook: one retried task, whose retry
   * never alerts twice (the mail and both audit events are keyed on the response and the step).
   */
  tellOfRiskResponse: (i: { responseId: string; tenantId: string; alert: boolean }) => Promise<{
    recipients: number | null;
    webhook: { sent: boolean; status: number | null };
  }>;
  /** Signs and posts the event to the configured webhook (the secret stays in the worker); throws to be retried. */
  notifySecurityWebhook: (i: { event: SecurityEvent; caseId: string; tenantId: string; step: string }) => Promise<{ sent: boolean; status: number | null }>;
}

/** Everything the worker registers: every workflow's activities. */
export type WorkflowActivities = RecoveryActivities &
  AccessActivities &
  AccountChangeActivities &
  AttestationActivities &
  RiskResponseActivities &
  AccessReviewActivities &
  InvitationActivities;
