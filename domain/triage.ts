// Triage: the SSO rule, the decision matrix, rate limits and risk, as one pure and explainable
// function. Its input is facts gathered by an activity (no secrets, no personal data), its output
// is the decision the workflow records. Imported by workflows: keep it free of I/O and zod.
import type { Policy, RecoveryRule, TierRequirement } from './policy';
import { isPrivileged } from './types';
import type { AccountAuthMethod, AccountRole, ErrorSource, Reason, RecoveryKind, RiskTier, Route, TenantAuthMode, Urgency } from './types';

export interface RiskSignal {
  code:
    | 'impossible_travel'
    | 'impossible_travel_known_device'
    | 'new_device_new_country'
    | 'new_device_new_network'
    | 'new_device_new_browser'
    | 'recent_factor_enrolment'
    | 'session_anomaly'
    | 'breached_password'
    | 'failed_login_burst'
    | 'repeat_reset'
    | 'repeat_reset_ip'
    | 'repeat_reset_device'
    | 'reset_storm'
    | 'inactive_90d';
  weight: number;
  evidence: string;
}

export interface TriageFacts {
  kind: RecoveryKind;
  tenantAuthMode: TenantAuthMode;
  account:
    | { exists: false }
    | {
        exists: true;
        role: AccountRole;
        authMethod: AccountAuthMethod;
        active: boolean;
        consecutiveFailures: number;
        /** False when the directory holds no knowledge factors (absent in older histories: true). */
        knowledgeFactors?: boolean;
      };
  errorSource: ErrorSource;
  urgency: Urgency;
  /** Requests for this account in the last 24 h, not counting this one. */
  recentRequestsForAccount: number;
  signals: RiskSignal[];
}

export interface TriageDecision {
  outcome: 'proceed' | 'refused';
  route?: Route;
  reasons: Reason[];
  riskTier: RiskTier;
  riskScore: number;
  manualReview: boolean;
  rule: RecoveryRule;
}

/**
 * Each signal's weight (domain/risk-signals.ts raises them; README lists why). A signal at 60 or
 * more refuses alone; 30-59 escalates alone (approval and a long wait); below 30 only adds up.
 * Recorded histories carry each signal's weight: changing one never changes a replay.
 */
export const RISK_WEIGHTS: Record<RiskSignal['code'], number> = {
  impossible_travel: 60,
  impossible_travel_known_device: 35,
  new_device_new_country: 40,
  new_device_new_network: 30,
  new_device_new_browser: 30,
  recent_factor_enrolment: 40,
  session_anomaly: 30,
  breached_password: 30,
  failed_login_burst: 15,
  repeat_reset: 10,
  repeat_reset_ip: 20,
  repeat_reset_device: 25,
  reset_storm: 30,
  inactive_90d: 10,
};
export const MEDIUM_RISK_AT = 30;
export const HIGH_RISK_AT = 60;

export function riskTierOf(score: number): RiskTier {
  if (score >= HIGH_RISK_AT) return 'high';
  if (score >= MEDIUM_RISK_AT) return 'medium';
  return 'low';
}

const NO_RULE: RecoveryRule = { approvals: 0, waitSeconds: 0, tiers: { all: [], anyOf: [] } };

export function triage(facts: TriageFacts, policy: Policy): TriageDecision {
  const reasons: Reason[] = [];
  const riskScore = facts.signals.reduce((s, x) => s + x.weight, 0);
  const riskTier = riskTierOf(riskScore);
  const refuse = (route: Route): TriageDecision => ({
    outcome: 'refused',
    route,
    reasons,
    riskTier,
    riskScore,
    manualReview: false,
    rule: NO_RULE,
  });

  const acct = facts.account;
  if (!acct.exists) {
    reasons.push({ code: 'account_not_found', detail: 'no account with this id in the tenant' });
    return refuse('customer_it');
  }
  if (!acct.active) {
    reasons.push({ code: 'account_inactive', detail: 'the account is suspended or deprovisioned' });
    return refuse('customer_it');
  }

  // SSO first (invariant 5): the tenant's mode, then in a mixed tenant the account's own method.
  if (facts.tenantAuthMode === 'sso_enforced') {
    reasons.push({ code: 'tenant_enforces_sso', detail: 'the tenant enforces SSO: recovery belongs to the customer IdP' });
    return refuse('customer_it');
  }
  if (facts.tenantAuthMode === 'mixed' && acct.authMethod === 'sso') {
    reasons.push({ code: 'account_sso_managed', detail: 'in this mixed tenant the account signs in through SSO' });
    return refuse('customer_it');
  }
  if (facts.errorSource === 'idp') {
    reasons.push({ code: 'idp_side_failure', detail: 'the failure is on the IdP side: the customer IT team must fix it' });
    return refuse('customer_it');
  }
  reasons.push({
    code: facts.tenantAuthMode === 'local' ? 'tenant_local_auth' : 'account_local_auth',
    detail: facts.tenantAuthMode === 'local' ? 'the tenant has no IdP' : 'mixed tenant, account uses local auth',
  });

  for (const s of facts.signals) reasons.push({ code: `risk_${s.code}`, detail: `${s.evidence} (+${s.weight})` });
  if (riskTier === 'high') {
    reasons.push({ code: 'risk_high', detail: `risk score ${riskScore} >= ${HIGH_RISK_AT}` });
    return refuse('security');
  }

  const rules = policy.rules[facts.kind];
  const privileged = isPrivileged(acct.role);
  let rule: RecoveryRule;
  if (riskTier === 'medium') {
    rule = rules.elevated;
    reasons.push({ code: 'risk_medium', detail: `risk score ${riskScore} >= ${MEDIUM_RISK_AT}: approvals and a long wait` });
  } else if (privileged) {
    rule = rules.privileged;
    reasons.push({ code: 'privileged_role', detail: `role ${acct.role} takes the stricter row` });
  } else {
    rule = rules.standard;
    reasons.push({ code: 'standard_role', detail: 'standard user' });
  }
  rule = { ...rule, tiers: { all: [...rule.tiers.all], anyOf: [...rule.tiers.anyOf] } };
  if (acct.knowledgeFactors === false) {
    rule.tiers = withoutKnowledge(rule.tiers);
    reasons.push({ code: 'no_knowledge_factors', detail: 'the identity system holds no knowledge factors: Tier 2 and Tier 3 are both required' });
  }

  let manualReview = false;
  if (facts.recentRequestsForAccount >= policy.rateLimits.perAccountPer24h) {
    manualReview = true;
    reasons.push({
      code: 'account_rate_limit',
      detail: `${facts.recentRequestsForAccount} earlier requests in 24 h (limit ${policy.rateLimits.perAccountPer24h}): manual review`,
    });
  }
  if (acct.consecutiveFailures >= policy.maxConsecutiveAccountFailures) {
    manualReview = true;
    reasons.push({ code: 'account_failure_limit', detail: `${acct.consecutiveFailures} consecutive failed verifications: manual review` });
  }
  if (manualReview) rule.approvals = Math.max(rule.approvals, policy.manualReviewApprovals);

  if (facts.urgency === 'critical') {
    reasons.push({ code: 'urgency_noted', detail: 'critical deadline noted; it never lowers the requirements' });
  }
  return { outcome: 'proceed', reasons, riskTier, riskScore, manualReview, rule };
}

/** Tier 1 cannot be asked: Tier 2 and Tier 3 are both required instead, whatever the row allowed. */
export function withoutKnowledge(t: TierRequirement): TierRequirement {
  const all = [...new Set([...t.all.filter((x) => x !== 1), 2 as const, 3 as const])].sort();
  const anyOf = t.anyOf.filter((x) => x !== 1 && !all.includes(x));
  return { all, anyOf };
}

/** True once the tiers required before completion (all but the Tier 3 link itself) have passed. */
export function preCompletionTiersMet(req: TierRequirement, passed: readonly number[], tier3ViaLink: boolean): boolean {
  const needed = tier3ViaLink ? req.all.filter((t) => t !== 3) : req.all;
  const anyOf = tier3ViaLink ? req.anyOf.filter((t) => t !== 3) : req.anyOf;
  return needed.every((t) => passed.includes(t)) && (anyOf.length === 0 || anyOf.some((t) => passed.includes(t)));
}

/** Tier 1 alone is never sufficient (SPEC.md section 2). */
export function tiersMet(req: TierRequirement, passed: readonly number[]): boolean {
  const ok = req.all.every((t) => passed.includes(t)) && (req.anyOf.length === 0 || req.anyOf.some((t) => passed.includes(t)));
  return ok && passed.some((t) => t !== 1);
}
