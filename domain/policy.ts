// Policy is data: built-in defaults (SPEC.md section 2), per-tenant overrides validated and
// bounded here, then resolved into plain numbers the workflows receive as arguments.
import { z } from 'zod';
import { ACCESS_REVIEW_ACTIONS, type AccessReviewAction } from './access-review';
import type { RecoveryKind, Tier } from './types';

const HOUR = 3600;

/** Tiers a recovery must pass: every tier in `all`, plus at least one of `anyOf` (if not empty). */
export interface TierRequirement {
  all: Tier[];
  anyOf: Tier[];
}

export interface RecoveryRule {
  approvals: number;
  waitSeconds: number;
  tiers: TierRequirement;
}

export interface Policy {
  tokenTtlSeconds: number;
  verificationWindowSeconds: number;
  approvalDeadlineSeconds: number;
  maxFailedVerifications: number;
  maxConsecutiveAccountFailures: number;
  /** Knowledge factors Tier 1 requires, all of them; null: every factor the account enrolled. */
  knowledgeFactors: string[] | null;
  /** Tier 3 possession links one recovery may mail; each new one ends the earlier ones. */
  maxPossessionLinks: number;
  /** How long an invitation's single-use link lives: NIST's cap on an emailed secret is 24 h. */
  invitationTtlSeconds: number;
  manualReviewApprovals: number;
  rateLimits: { perIpPerHour: number; perAccountPer24h: number };
  rules: Record<RecoveryKind, { standard: RecoveryRule; privileged: RecoveryRule; elevated: RecoveryRule }>;
  /** The scheduled access review (SPEC.md 3.3): how often it runs, and what it does with a finding. */
  accessReview: { cadenceSeconds: number; action: AccessReviewAction };
}

const T3_PLUS_T1_OR_T2: TierRequirement = { all: [3], anyOf: [1, 2] };
const ALL_TIERS: TierRequirement = { all: [1, 2, 3], anyOf: [] };

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export const DEFAULT_POLICY: Policy = deepFreeze({
  tokenTtlSeconds: 15 * 60,
  verificationWindowSeconds: 1 * HOUR,
  approvalDeadlineSeconds: 24 * HOUR,
  maxFailedVerifications: 5,
  maxConsecutiveAccountFailures: 100,
  knowledgeFactors: null,
  maxPossessionLinks: 3,
  invitationTtlSeconds: 24 * HOUR,
  manualReviewApprovals: 2,
  rateLimits: { perIpPerHour: 5, perAccountPer24h: 3 },
  rules: {
    password_reset: {
      standard: { approvals: 0, waitSeconds: 0, tiers: T3_PLUS_T1_OR_T2 },
      privileged: { approvals: 1, waitSeconds: 24 * HOUR, tiers: ALL_TIERS },
      // medium risk or manual review: never weaker than the MFA row (approval + 48 h)
      elevated: { approvals: 2, waitSeconds: 48 * HOUR, tiers: ALL_TIERS },
    },
    mfa_reset: {
      standard: { approvals: 1, waitSeconds: 24 * HOUR, tiers: ALL_TIERS },
      privileged: { approvals: 2, waitSeconds: 48 * HOUR, tiers: ALL_TIERS },
      elevated: { approvals: 2, waitSeconds: 48 * HOUR, tiers: ALL_TIERS },
    },
  },
  // Weekly, report only: suspending is the tenant's explicit choice.
  accessReview: { cadenceSeconds: 7 * 24 * HOUR, action: 'report' },
});

/** Bounds differ by mode: production never allows a wait under 24 h; dev allows seconds. */
export type PolicyMode = 'production' | 'dev';

/** The access review runs at least every 90 days; production at most daily, dev every minute. */
export const ACCESS_REVIEW_CADENCE = { maxSeconds: 90 * 24 * HOUR, minSeconds: 24 * HOUR, minDevSeconds: 60 } as const;

/** The longest waiting period any row may set. */
const MAX_WAIT = 14 * 24 * HOUR;

/**
 * A row's waiting period. Dev: 0 to 14 days. Production: a privileged or elevated row always keeps
 * at least 24 h; a standard row has none (0) or at least 24 h. Plain zod bounds and a union, so the
 * API document states each mode's bounds exactly (the document of a dev engine shows dev's).
 */
function waitSeconds(mode: PolicyMode, row: 'standard' | 'privileged' | 'elevated') {
  const wait = (min: number, message?: string) => z.number().int().min(min, message).max(MAX_WAIT);
  if (mode === 'dev') return wait(0);
  if (row !== 'standard') return wait(24 * HOUR, 'this row keeps a waiting period of at least 86400 s in production');
  return z.union([z.literal(0), wait(24 * HOUR)], { error: `a waiting period is 0, or 86400 to ${MAX_WAIT} s in production` });
}

function ruleOverride(mode: PolicyMode, row: 'standard' | 'privileged' | 'elevated') {
  return z
    .object({
      approvals: z.number().int().min(0).max(5).optional(),
      waitSeconds: waitSeconds(mode, row).optional(),
    })
    .strict();
}

/** Schema of a tenant's override document, bounded so no override weakens below the floor. */
export function policyOverrideSchema(mode: PolicyMode) {
  const dev = mode === 'dev';
  const kindOverride = z
    .object({
      standard: ruleOverride(mode, 'standard').optional(),
      privileged: ruleOverride(mode, 'privileged').optional(),
      elevated: ruleOverride(mode, 'elevated').optional(),
    })
    .strict();
  return z
    .object({
      tokenTtlSeconds: z
        .number()
        .int()
        .min(dev ? 1 : 300)
        .max(3600)
        .optional(),
      verificationWindowSeconds: z
        .number()
        .int()
        .min(dev ? 1 : 300)
        .max(24 * HOUR)
        .optional(),
      approvalDeadlineSeconds: z
        .number()
        .int()
        .min(dev ? 1 : HOUR)
        .max(72 * HOUR)
        .optional(),
      maxFailedVerifications: z.number().int().min(1).max(10).optional(),
      maxPossessionLinks: z.number().int().min(1).max(10).optional(),
      invitationTtlSeconds: z
        .number()
        .int()
        .min(dev ? 1 : 900)
        .max(24 * HOUR)
        .optional(),
      // Names as Tier 1 answers carry them; an account that lacks a named factor cannot pass Tier 1.
      knowledgeFactors: z
        .array(z.string().regex(/^[a-z0-9_]{1,64}$/))
        .min(1)
        .max(10)
        .refine((names) => new Set(names).size === names.length, 'each factor once')
        .meta({ uniqueItems: true })
        .optional(),
      rateLimits: z
        .object({
          perIpPerHour: z.number().int().min(1).max(100).optional(),
          perAccountPer24h: z.number().int().min(1).max(20).optional(),
        })
        .strict()
        .optional(),
      rules: z.object({ password_reset: kindOverride.optional(), mfa_reset: kindOverride.optional() }).strict().optional(),
      accessReview: z
        .object({
          cadenceSeconds: z
            .number()
            .int()
            .min(dev ? ACCESS_REVIEW_CADENCE.minDevSeconds : ACCESS_REVIEW_CADENCE.minSeconds)
            .max(ACCESS_REVIEW_CADENCE.maxSeconds)
            .optional(),
          action: z.enum(ACCESS_REVIEW_ACTIONS).optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
}
export type PolicyOverride = z.infer<ReturnType<typeof policyOverrideSchema>>;

/** Defaults with the tenant's overrides applied. Privileged rows never end weaker than standard ones. */
export function resolvePolicy(override: PolicyOverride | null | undefined): Policy {
  const base: Policy = structuredClone(DEFAULT_POLICY);
  if (!override) return base;
  const { rules, rateLimits, accessReview, ...scalars } = override;
  Object.assign(base, scalars);
  if (rateLimits) Object.assign(base.rateLimits, rateLimits);
  if (accessReview) Object.assign(base.accessReview, accessReview);
  for (const kind of ['password_reset', 'mfa_reset'] as const) {
    const o = rules?.[kind];
    const r = base.rules[kind];
    if (o?.standard) Object.assign(r.standard, o.standard);
    if (o?.privileged) Object.assign(r.privileged, o.privileged);
    if (o?.elevated) Object.assign(r.elevated, o.elevated);
    r.privileged.approvals = Math.max(r.privileged.approvals, r.standard.approvals);
    r.privileged.waitSeconds = Math.max(r.privileged.waitSeconds, r.standard.waitSeconds);
    r.elevated.approvals = Math.max(r.elevated.approvals, r.privileged.approvals, base.manualReviewApprovals);
    r.elevated.waitSeconds = Math.max(r.elevated.waitSeconds, r.privileged.waitSeconds);
  }
  return base;
}

// In domain/types, which the workflows import: this module brings zod with it (policyOverrideSchema).
export { isPrivileged } from './types';
