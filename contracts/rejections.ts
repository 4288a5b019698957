// Failure types the workflows' update validators throw, and the HTTP status the API answers each with.

/** The recovery's state does not allow the request. */
export const RECOVERY_REJECTIONS = {
  invalid_state: 409,
  already_verified: 409,
} as const;

/** Separation of duties on a recovery's approvals. */
export const APPROVAL_REJECTIONS = {
  requester_cannot_approve: 403,
  owner_cannot_approve: 403,
  approver_out_of_scope: 403,
  approver_lacks_role: 403,
  already_decided: 409,
  approval_closed: 409,
} as const;

/** Decisions, reviews and revocations of an emergency-access grant. */
export const ACCESS_REJECTIONS = {
  requester_cannot_approve: 403,
  approver_lacks_role: 403,
  approver_out_of_scope: 403,
  already_decided: 409,
  approval_closed: 409,
  reviewer_lacks_role: 403,
  reviewer_not_independent: 403,
  reviewer_out_of_scope: 403,
  review_not_open: 409,
  not_revocable: 409,
} as const;

/** An admin's reversal or acknowledgement of a risk response. */
export const RISK_RESPONSE_REJECTIONS = {
  decider_lacks_role: 403,
  decider_out_of_scope: 403,
  response_decided: 409,
} as const;

/** Refusals an activity raises inside an update handler (the update fails with them as cause). */
export const ACTIVITY_REFUSALS: Record<string, number> = {
  possession_link_limit: 429,
};

/** A message the workflow does not believe: no valid attestation (sent around the API), or no shape at all. */
export const MESSAGE_REJECTIONS = {
  unattested: 403,
  malformed_message: 400,
} as const;

export const WORKFLOW_REJECTIONS = {
  ...RECOVERY_REJECTIONS,
  ...APPROVAL_REJECTIONS,
  ...ACCESS_REJECTIONS,
  ...RISK_RESPONSE_REJECTIONS,
  ...MESSAGE_REJECTIONS,
} as const;
export type Rejection = keyof typeof WORKFLOW_REJECTIONS;
