// Emergency access (break-glass, SSO bypass) as data: its kinds, states and timings, as
// recovery's live in types.ts and policy.ts (SPEC.md sections 2, 3.2, 3.4). Pure: no I/O.

export const ACCESS_KINDS = ['break_glass', 'sso_bypass'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

export const ACCESS_ACTIVE_STATES = ['requested', 'awaiting_confirmation', 'awaiting_approval', 'issuing', 'active', 'rotating', 'awaiting_review'] as const;
export const ACCESS_TERMINAL_STATES = ['completed', 'denied', 'expired', 'cancelled', 'failed'] as const;
export type AccessState = (typeof ACCESS_ACTIVE_STATES)[number] | (typeof ACCESS_TERMINAL_STATES)[number];
export const ACCESS_STATES: readonly AccessState[] = [...ACCESS_ACTIVE_STATES, ...ACCESS_TERMINAL_STATES];

export function isAccessTerminal(state: string): boolean {
  return (ACCESS_TERMINAL_STATES as readonly string[]).includes(state);
}

/** Until the credential is revoked, a grant can be revoked (or, before it is issued, cancelled). */
export const ACCESS_REVOCABLE_STATES: readonly AccessState[] = ['requested', 'awaiting_confirmation', 'awaiting_approval', 'issuing', 'active'];

/** Distinct break-glass approvers, neither of them the requester. */
export const ACCESS_REQUIRED_APPROVALS = 2;

/** How long a credential lives: minutes in production, seconds only in dev policy mode. */
export const ACCESS_DURATION = { minMinutes: 1, maxMinutes: 60, defaultMinutes: 15, maxDevSeconds: 3600 } as const;

/** Policy numbers the API resolves and passes in. */
export interface AccessTimings {
  confirmationSeconds: number;
  approvalDeadlineSeconds: number;
  escalateApprovalAfterSeconds: number;
  reviewReminderEverySeconds: number;
  reviewEscalateAfterSeconds: number;
}

export const DEFAULT_ACCESS_TIMINGS: AccessTimings = {
  confirmationSeconds: 30 * 60,
  approvalDeadlineSeconds: 30 * 60,
  escalateApprovalAfterSeconds: 15 * 60,
  reviewReminderEverySeconds: 4 * 3600,
  reviewEscalateAfterSeconds: 24 * 3600,
};
