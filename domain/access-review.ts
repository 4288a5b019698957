// The scheduled access review (SPEC.md section 3.3) as data and one pure rule: given what the
// engine and the tenant's directory know at one moment, which accounts, grants and approvers an
// auditor would question. No I/O, no clock: the moment arrives as `asOf`.

export const ACCESS_REVIEW_FINDING_KINDS = ['inactive_account', 'local_without_mfa', 'orphaned_account', 'break_glass_unreviewed', 'stale_approver'] as const;
export type AccessReviewFindingKind = (typeof ACCESS_REVIEW_FINDING_KINDS)[number];

/** What the tenant's policy does with a finding: report it, or also suspend the account. */
export const ACCESS_REVIEW_ACTIONS = ['report', 'suspend'] as const;
export type AccessReviewAction = (typeof ACCESS_REVIEW_ACTIONS)[number];

/** An account (or an approver's own account) is stale after this many days without a login. */
export const INACTIVE_DAYS = 90;
const DAY_MS = 86_400_000;

export interface ReviewAccount {
  accountId: string;
  /** The engine's record, which the identity provider's SCIM calls keep (suspended, deprovisioned). */
  status: 'active' | 'suspended' | 'deprovisioned';
  authMethod: 'sso' | 'local';
  createdAt: string;
  lastLoginAt: string | null;
  /** Active MFA factors the engine holds; null when the directory keeps them (remote directories). */
  mfaFactors: number | null;
  /** The tenant's directory: whether it lets the account sign in; null when it no longer knows it. */
  directoryActive: boolean | null;
  /** The tenant's designated break-glass account: idle by design, so reported but never suspended. */
  breakGlass?: boolean;
}

export interface ReviewGrant {
  grantId: string;
  accountId: string;
  state: string;
  /** When the credential stopped working (revoked, or expiry); null: never issued. */
  credentialEndsAt: string | null;
}

/** A principal who decides others' cases in the tenant: an approver, break-glass approver or reviewer. */
export interface ReviewApprover {
  principalId: string;
  name: string;
  roles: string[];
  /** The approver's own account in this tenant, or null when it no longer exists. */
  account: { accountId: string; status: string; createdAt: string; lastLoginAt: string | null } | null;
}

export interface ReviewFacts {
  asOf: string;
  accounts: ReviewAccount[];
  breakGlassGrants: ReviewGrant[];
  approvers: ReviewApprover[];
}

export interface AccessReviewFinding {
  kind: AccessReviewFindingKind;
  /** `account:<id>`, `grant:<id>` or `principal:<id>`: the audit event's target. */
  target: string;
  /** The account the policy's action applies to; null: nothing to suspend (report only). */
  suspendAccount: string | null;
  reason: string;
  evidence: Record<string, string | number | boolean | null>;
}

const daysBetween = (from: string, to: string) => Math.floor((Date.parse(to) - Date.parse(from)) / DAY_MS);

/** Days since the last login, or since creation for an account never signed in to. */
function idleDays(a: { createdAt: string; lastLoginAt: string | null }, asOf: string): number {
  return daysBetween(a.lastLoginAt ?? a.createdAt, asOf);
}

/** The designated break-glass account keeps working: a review that suspended it would lock out the emergency. */
function accountFindings(a: ReviewAccount, asOf: string): AccessReviewFinding[] {
  const found = accountFindingsOf(a, asOf);
  if (!a.breakGlass) return found;
  return found.map((f) => ({ ...f, suspendAccount: null, evidence: { ...f.evidence, breakGlassAccount: true } }));
}

function accountFindingsOf(a: ReviewAccount, asOf: string): AccessReviewFinding[] {
  const target = `account:${a.accountId}`;
  // The IdP removed it (SCIM), yet the directory still lets it sign in; or the directory lost it.
  if (a.status !== 'active' && a.directoryActive === true) {
    return [
      {
        kind: 'orphaned_account',
        target,
        suspendAccount: a.accountId,
        reason: `the identity provider removed the account (${a.status}) but the directory still lets it sign in`,
        evidence: { engineStatus: a.status, directoryActive: true },
      },
    ];
  }
  if (a.status === 'active' && a.directoryActive === null) {
    return [
      {
        kind: 'orphaned_account',
        target,
        suspendAccount: null,
        reason: 'the directory no longer holds the account, which the engine still counts as active',
        evidence: { engineStatus: a.status, directoryActive: null },
      },
    ];
  }
  if (a.status !== 'active' || a.directoryActive === false) return [];
  const out: AccessReviewFinding[] = [];
  const idle = idleDays(a, asOf);
  if (idle >= INACTIVE_DAYS) {
    out.push({
      kind: 'inactive_account',
      target,
      suspendAccount: a.accountId,
      reason: `no sign-in for ${idle} days (limit ${INACTIVE_DAYS})`,
      evidence: { lastLoginAt: a.lastLoginAt, createdAt: a.createdAt, idleDays: idle },
    });
  }
  if (a.authMethod === 'local' && a.mfaFactors === 0) {
    out.push({
      kind: 'local_without_mfa',
      target,
      suspendAccount: a.accountId,
      reason: 'a local account with no active MFA factor',
      evidence: { authMethod: a.authMethod, mfaFactors: 0 },
    });
  }
  return out;
}

/** A break-glass credential that stopped working without the independent review closing it. */
function grantFinding(g: ReviewGrant, asOf: string): AccessReviewFinding | null {
  if (g.state === 'completed' || g.credentialEndsAt === null || Date.parse(g.credentialEndsAt) > Date.parse(asOf)) return null;
  return {
    kind: 'break_glass_unreviewed',
    target: `grant:${g.grantId}`,
    suspendAccount: null,
    reason: `break-glass access to ${g.accountId} ended ${daysBetween(g.credentialEndsAt, asOf)} days ago and was never reviewed`,
    evidence: { accountId: g.accountId, state: g.state, credentialEndedAt: g.credentialEndsAt },
  };
}

/** An approver decides others' recoveries: their own account must be alive and in use. */
function approverFinding(p: ReviewApprover, asOf: string): AccessReviewFinding | null {
  const target = `principal:${p.principalId}`;
  const base = { kind: 'stale_approver' as const, target, suspendAccount: null };
  const roles = p.roles.join(',');
  if (!p.account) return { ...base, reason: `approver ${p.name}'s own account no longer exists`, evidence: { roles, accountId: null } };
  const a = p.account;
  if (a.status !== 'active') {
    return { ...base, reason: `approver ${p.name}'s own account is ${a.status}`, evidence: { roles, accountId: a.accountId, status: a.status } };
  }
  const idle = idleDays(a, asOf);
  if (idle < INACTIVE_DAYS) return null;
  return {
    ...base,
    reason: `approver ${p.name}'s own account has not signed in for ${idle} days`,
    evidence: { roles, accountId: a.accountId, lastLoginAt: a.lastLoginAt, idleDays: idle },
  };
}

/** Every finding, in a stable order (accounts, grants, approvers; each by id): the report's numbering. */
export function accessReviewFindings(f: ReviewFacts): AccessReviewFinding[] {
  const byId =
    <T>(key: (t: T) => string) =>
    (x: T, y: T) =>
      key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0;
  return [
    ...[...f.accounts].sort(byId((a) => a.accountId)).flatMap((a) => accountFindings(a, f.asOf)),
    ...[...f.breakGlassGrants].sort(byId((g) => g.grantId)).flatMap((g) => grantFinding(g, f.asOf) ?? []),
    ...[...f.approvers].sort(byId((p) => p.principalId)).flatMap((p) => approverFinding(p, f.asOf) ?? []),
  ];
}

/** Findings counted by kind, every kind present (zero included). */
export function countByKind(findings: readonly { kind: AccessReviewFindingKind }[]): Record<AccessReviewFindingKind, number> {
  const counts = Object.fromEntries(ACCESS_REVIEW_FINDING_KINDS.map((k) => [k, 0])) as Record<AccessReviewFindingKind, number>;
  for (const f of findings) counts[f.kind]++;
  return counts;
}

/** The Temporal Schedule of a tenant's review: one per tenant, a stable id. */
export const accessReviewScheduleId = (tenantId: string) => `access-review:${tenantId}`;
