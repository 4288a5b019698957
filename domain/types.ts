// Vocabulary shared by the API, the workflows and the activities. Pure: no I/O.

export const RECOVERY_KINDS = ['password_reset', 'mfa_reset'] as const;
export type RecoveryKind = (typeof RECOVERY_KINDS)[number];

export const ACCOUNT_ROLES = ['standard', 'admin', 'executive', 'finance'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];
/** Roles that take the stricter policy row. */
export const PRIVILEGED_ROLES: readonly AccountRole[] = ['admin', 'executive', 'finance'];

export function isPrivileged(role: AccountRole): boolean {
  return PRIVILEGED_ROLES.includes(role);
}

/** How a tenant's users sign in. */
export const TENANT_AUTH_MODES = ['sso_enforced', 'mixed', 'local'] as const;
export type TenantAuthMode = (typeof TENANT_AUTH_MODES)[number];

/** How one account signs in (decides in a mixed tenant). */
export const ACCOUNT_AUTH_METHODS = ['sso', 'local'] as const;
export type AccountAuthMethod = (typeof ACCOUNT_AUTH_METHODS)[number];

/** `metrics`: a Prometheus scraper's key; it reads GET /metrics (with `*` scope) and nothing else. `ingestion`: the product's own backend, the only reporter of login events. */
export const PRINCIPAL_ROLES = ['agent', 'approver', 'break_glass_approver', 'reviewer', 'auditor', 'admin', 'metrics', 'ingestion'] as const;
export type PrincipalRole = (typeof PRINCIPAL_ROLES)[number];

export const ERROR_SOURCES = ['idp', 'local', 'unsupported_idp', 'unknown'] as const;
export type ErrorSource = (typeof ERROR_SOURCES)[number];

export const URGENCIES = ['routine', 'critical'] as const;
export type Urgency = (typeof URGENCIES)[number];

export const RISK_TIERS = ['low', 'medium', 'high'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export const ACTIVE_STATES = ['received', 'verifying', 'awaiting_approval', 'waiting_period', 'awaiting_completion', 'finalising'] as const;
export const TERMINAL_STATES = ['completed', 'refused', 'denied', 'cancelled', 'expired', 'failed'] as const;
export type ActiveState = (typeof ACTIVE_STATES)[number];
export type TerminalState = (typeof TERMINAL_STATES)[number];
export type RecoveryState = ActiveState | TerminalState;
export const RECOVERY_STATES: readonly RecoveryState[] = [...ACTIVE_STATES, ...TERMINAL_STATES];

export function isTerminal(state: RecoveryState): state is TerminalState {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

export type Tier = 1 | 2 | 3;

/** Where a refused request is sent. */
export type Route = 'customer_it' | 'security';

/** One explainable reason, recorded with every decision. */
export interface Reason {
  code: string;
  detail: string;
}
