// Triage (domain/triage.ts): the SSO rule, the decision matrix, rate limits and risk, with reasons.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, resolvePolicy, type TierRequirement } from '../../domain/policy';
import {
  HIGH_RISK_AT,
  MEDIUM_RISK_AT,
  RISK_WEIGHTS,
  preCompletionTiersMet,
  riskTierOf,
  tiersMet,
  triage,
  type RiskSignal,
  type TriageDecision,
  type TriageFacts,
} from '../../domain/triage';
import { ACCOUNT_ROLES, ERROR_SOURCES, RECOVERY_KINDS, TENANT_AUTH_MODES, URGENCIES, type AccountRole } from '../../domain/types';

const HOUR = 3600;

type ActiveAccount = Extract<TriageFacts['account'], { exists: true }>;

function facts(over: Partial<Omit<TriageFacts, 'account'>> & { account?: Partial<ActiveAccount> | { exists: false } } = {}): TriageFacts {
  const { account, ...rest } = over;
  const acct: TriageFacts['account'] =
    account && account.exists === false
      ? { exists: false }
      : { exists: true, role: 'standard', authMethod: 'local', active: true, consecutiveFailures: 0, ...account };
  return {
    kind: 'password_reset',
    tenantAuthMode: 'local',
    errorSource: 'local',
    urgency: 'routine',
    recentRequestsForAccount: 0,
    signals: [],
    ...rest,
    account: acct,
  };
}

function signal(code: RiskSignal['code']): RiskSignal {
  return { code, weight: RISK_WEIGHTS[code], evidence: `test ${code}` };
}

const codes = (d: TriageDecision) => d.reasons.map((r) => r.code);

function assertRefused(d: TriageDecision, route: 'customer_it' | 'security', code: string): void {
  assert.equal(d.outcome, 'refused');
  assert.equal(d.route, route);
  assert.ok(codes(d).includes(code), `expected reason ${code}, got ${codes(d).join(', ')}`);
}

describe('SSO first: an SSO-enforced tenant refuses and routes to customer IT', () => {
  for (const kind of RECOVERY_KINDS) {
    it(`refuses a ${kind} with reason tenant_enforces_sso`, () => {
      const d = triage(facts({ kind, tenantAuthMode: 'sso_enforced' }), DEFAULT_POLICY);
      assertRefused(d, 'customer_it', 'tenant_enforces_sso');
    });
  }

  it('refuses even for a local-auth account, a local error and a critical deadline', () => {
    const d = triage(facts({ tenantAuthMode: 'sso_enforced', errorSource: 'local', urgency: 'critical', account: { authMethod: 'local' } }), DEFAULT_POLICY);
    assertRefused(d, 'customer_it', 'tenant_enforces_sso');
  });

  it('a refusal carries no approvals or tiers and no manual review', () => {
    const d = triage(facts({ tenantAuthMode: 'sso_enforced' }), DEFAULT_POLICY);
    assert.equal(d.manualReview, false);
    assert.deepEqual(d.rule, { approvals: 0, waitSeconds: 0, tiers: { all: [], anyOf: [] } });
  });
});

describe('SSO first: in a mixed tenant the account’s own sign-in method decides', () => {
  it('refuses an SSO-managed account with reason account_sso_managed', () => {
    const d = triage(facts({ tenantAuthMode: 'mixed', account: { authMethod: 'sso' } }), DEFAULT_POLICY);
    assertRefused(d, 'customer_it', 'account_sso_managed');
  });

  it('proceeds for a local-auth account with reason account_local_auth', () => {
    const d = triage(facts({ tenantAuthMode: 'mixed', account: { authMethod: 'local' } }), DEFAULT_POLICY);
    assert.equal(d.outcome, 'proceed');
    assert.equal(d.route, undefined);
    assert.ok(codes(d).includes('account_local_auth'));
  });

  it('a local-auth tenant proceeds with reason tenant_local_auth', () => {
    const d = triage(facts({ tenantAuthMode: 'local' }), DEFAULT_POLICY);
    assert.equal(d.outcome, 'proceed');
    assert.ok(codes(d).includes('tenant_local_auth'));
  });
});

describe('Error source: a failure on the IdP side refuses', () => {
  it("errorSource 'idp' refuses to customer IT with reason idp_side_failure", () => {
    for (const tenantAuthMode of ['local', 'mixed'] as const) {
      const d = triage(facts({ tenantAuthMode, errorSource: 'idp' }), DEFAULT_POLICY);
      assertRefused(d, 'customer_it', 'idp_side_failure');
    }
  });

  it('local, unsupported_idp and unknown error sources proceed', () => {
    for (const errorSource of ['local', 'unsupported_idp', 'unknown'] as const) {
      assert.equal(triage(facts({ errorSource }), DEFAULT_POLICY).outcome, 'proceed', errorSource);
    }
  });
});

describe('Unknown or inactive accounts are refused', () => {
  it('refuses an unknown account with reason account_not_found', () => {
    const d = triage(facts({ account: { exists: false } }), DEFAULT_POLICY);
    assertRefused(d, 'customer_it', 'account_not_found');
  });

  it('refuses an inactive account with reason account_inactive', () => {
    const d = triage(facts({ account: { active: false } }), DEFAULT_POLICY);
    assertRefused(d, 'customer_it', 'account_inactive');
  });
});

describe('User role: admin, executive and finance take the privileged row', () => {
  for (const role of ['admin', 'executive', 'finance'] as const) {
    it(`${role}: password reset needs T1 + T2 + T3, 1 approval, 24 h`, () => {
      const d = triage(facts({ kind: 'password_reset', account: { role } }), DEFAULT_POLICY);
      assert.equal(d.outcome, 'proceed');
      assert.deepEqual(d.rule, DEFAULT_POLICY.rules.password_reset.privileged);
      assert.equal(d.rule.approvals, 1);
      assert.equal(d.rule.waitSeconds, 24 * HOUR);
      assert.ok(codes(d).includes('privileged_role'));
    });

    it(`${role}: MFA reset needs 2 approvals and 48 h`, () => {
      const d = triage(facts({ kind: 'mfa_reset', account: { role } }), DEFAULT_POLICY);
      assert.equal(d.rule.approvals, 2);
      assert.equal(d.rule.waitSeconds, 48 * HOUR);
    });
  }

  it('a standard user at low risk takes the standard row (password reset: 0 approvals, no wait)', () => {
    const d = triage(facts(), DEFAULT_POLICY);
    assert.equal(d.outcome, 'proceed');
    assert.equal(d.riskTier, 'low');
    assert.deepEqual(d.rule, DEFAULT_POLICY.rules.password_reset.standard);
    assert.ok(codes(d).includes('standard_role'));
  });

  it('a standard user MFA reset takes 1 approval and 24 h', () => {
    const d = triage(facts({ kind: 'mfa_reset' }), DEFAULT_POLICY);
    assert.deepEqual(d.rule, DEFAULT_POLICY.rules.mfa_reset.standard);
  });

  it('the decision carries a copy of the rule: mutating it never changes the policy', () => {
    const policy = resolvePolicy(null);
    const d = triage(facts({ account: { role: 'admin' } }), policy);
    d.rule.approvals = 0;
    d.rule.tiers.all.pop();
    assert.equal(policy.rules.password_reset.privileged.approvals, 1);
    assert.deepEqual(policy.rules.password_reset.privileged.tiers.all, [1, 2, 3]);
    assert.deepEqual(DEFAULT_POLICY.rules.password_reset.privileged.tiers.all, [1, 2, 3]);
  });
});

describe('Risk: medium risk takes the elevated row (approval + 48 h)', () => {
  it('risk tiers: < 30 low, 30..59 medium, >= 60 high', () => {
    assert.equal(MEDIUM_RISK_AT, 30);
    assert.equal(HIGH_RISK_AT, 60);
    assert.equal(riskTierOf(0), 'low');
    assert.equal(riskTierOf(29), 'low');
    assert.equal(riskTierOf(30), 'medium');
    assert.equal(riskTierOf(59), 'medium');
    assert.equal(riskTierOf(60), 'high');
  });

  for (const kind of RECOVERY_KINDS) {
    for (const role of ['standard', 'admin'] as const) {
      it(`${kind}, ${role}: new device + new country -> 2 approvals, 48 h, all tiers`, () => {
        const d = triage(facts({ kind, account: { role }, signals: [signal('new_device_new_country')] }), DEFAULT_POLICY);
        assert.equal(d.outcome, 'proceed');
        assert.equal(d.riskTier, 'medium');
        assert.equal(d.riskScore, 40);
        assert.equal(d.rule.approvals, 2);
        assert.equal(d.rule.waitSeconds, 48 * HOUR);
        assert.deepEqual(d.rule.tiers, { all: [1, 2, 3], anyOf: [] });
        assert.ok(codes(d).includes('risk_medium'));
        assert.ok(codes(d).includes('risk_new_device_new_country'));
      });
    }
  }
});

describe('Risk: high risk refuses and routes to security', () => {
  it('impossible travel alone refuses with route security and reason risk_high', () => {
    const d = triage(facts({ signals: [signal('impossible_travel')] }), DEFAULT_POLICY);
    assertRefused(d, 'security', 'risk_high');
    assert.equal(d.riskTier, 'high');
    assert.ok(codes(d).includes('risk_impossible_travel'));
  });

  it('two medium signals add up to high', () => {
    const d = triage(facts({ account: { role: 'finance' }, signals: [signal('new_device_new_country'), signal('recent_factor_enrolment')] }), DEFAULT_POLICY);
    assert.equal(d.riskScore, 80);
    assertRefused(d, 'security', 'risk_high');
  });

  it('a critical deadline does not turn high risk into proceed', () => {
    const d = triage(facts({ urgency: 'critical', signals: [signal('impossible_travel')] }), DEFAULT_POLICY);
    assertRefused(d, 'security', 'risk_high');
  });
});

describe('Rate limit: 3 requests per 24 h per account sends further requests to manual review', () => {
  it('3 earlier requests in 24 h -> manual review with at least 2 approvals', () => {
    for (const kind of RECOVERY_KINDS) {
      const d = triage(facts({ kind, recentRequestsForAccount: 3 }), DEFAULT_POLICY);
      assert.equal(d.outcome, 'proceed');
      assert.equal(d.manualReview, true, kind);
      assert.ok(d.rule.approvals >= 2, `${kind}: ${d.rule.approvals} approvals`);
      assert.ok(codes(d).includes('account_rate_limit'));
    }
  });

  it('3 earlier requests plus the repeat_reset signal still yields manual review', () => {
    const d = triage(facts({ recentRequestsForAccount: 3, signals: [signal('repeat_reset')] }), DEFAULT_POLICY);
    assert.equal(d.manualReview, true);
    assert.ok(d.rule.approvals >= 2);
  });

  it('2 earlier requests in 24 h -> no manual review', () => {
    const d = triage(facts({ recentRequestsForAccount: 2 }), DEFAULT_POLICY);
    assert.equal(d.manualReview, false);
    assert.equal(d.rule.approvals, 0);
    assert.ok(!codes(d).includes('account_rate_limit'));
  });

  it('follows the tenant’s perAccountPer24h override', () => {
    const policy = resolvePolicy({ rateLimits: { perAccountPer24h: 5 } });
    assert.equal(triage(facts({ recentRequestsForAccount: 4 }), policy).manualReview, false);
    assert.equal(triage(facts({ recentRequestsForAccount: 5 }), policy).manualReview, true);
  });
});

describe('Failed verifications: 100 consecutive account failures require manual review', () => {
  it('100 consecutive failures -> manual review with at least 2 approvals', () => {
    const d = triage(facts({ account: { consecutiveFailures: 100 } }), DEFAULT_POLICY);
    assert.equal(d.outcome, 'proceed');
    assert.equal(d.manualReview, true);
    assert.ok(d.rule.approvals >= 2);
    assert.ok(codes(d).includes('account_failure_limit'));
  });

  it('99 consecutive failures -> no manual review', () => {
    const d = triage(facts({ account: { consecutiveFailures: 99 } }), DEFAULT_POLICY);
    assert.equal(d.manualReview, false);
  });
});

describe('Urgency: a critical deadline never lowers requirements', () => {
  it('critical and routine give the same outcome, route and rule for every combination', () => {
    const roles: AccountRole[] = [...ACCOUNT_ROLES];
    const signalSets: RiskSignal[][] = [[], [signal('inactive_90d')], [signal('new_device_new_country')], [signal('impossible_travel')]];
    for (const kind of RECOVERY_KINDS)
      for (const tenantAuthMode of TENANT_AUTH_MODES)
        for (const authMethod of ['sso', 'local'] as const)
          for (const role of roles)
            for (const errorSource of ERROR_SOURCES)
              for (const signals of signalSets)
                for (const recentRequestsForAccount of [0, 3]) {
                  const base = { kind, tenantAuthMode, errorSource, signals, recentRequestsForAccount, account: { role, authMethod } };
                  const routine = triage(facts({ ...base, urgency: 'routine' }), DEFAULT_POLICY);
                  const critical = triage(facts({ ...base, urgency: 'critical' }), DEFAULT_POLICY);
                  const label = JSON.stringify({ ...base, signals: signals.map((s) => s.code) });
                  assert.equal(critical.outcome, routine.outcome, label);
                  assert.equal(critical.route, routine.route, label);
                  assert.equal(critical.manualReview, routine.manualReview, label);
                  assert.deepEqual(critical.rule, routine.rule, label);
                }
  });

  it('a critical deadline is recorded as a reason', () => {
    const d = triage(facts({ urgency: 'critical' }), DEFAULT_POLICY);
    assert.ok(codes(d).includes('urgency_noted'));
  });
});

describe('Explainability: every decision has at least one reason', () => {
  it('holds for every combination of facts', () => {
    let n = 0;
    for (const kind of RECOVERY_KINDS)
      for (const tenantAuthMode of TENANT_AUTH_MODES)
        for (const authMethod of ['sso', 'local'] as const)
          for (const role of ACCOUNT_ROLES)
            for (const active of [true, false])
              for (const errorSource of ERROR_SOURCES)
                for (const urgency of URGENCIES)
                  for (const signals of [[], [signal('new_device_new_country')], [signal('impossible_travel')]])
                    for (const consecutiveFailures of [0, 100]) {
                      const d = triage(
                        facts({ kind, tenantAuthMode, errorSource, urgency, signals, account: { role, authMethod, active, consecutiveFailures } }),
                        DEFAULT_POLICY,
                      );
                      assert.ok(d.reasons.length >= 1);
                      for (const r of d.reasons) {
                        assert.ok(r.code.length > 0 && r.detail.length > 0, JSON.stringify(r));
                      }
                      if (d.outcome === 'refused') assert.ok(d.route === 'customer_it' || d.route === 'security');
                      n++;
                    }
    const unknown = triage(facts({ account: { exists: false } }), DEFAULT_POLICY);
    assert.ok(unknown.reasons.length >= 1);
    assert.ok(n > 0);
  });

  it('every risk signal is recorded with its weight as a reason', () => {
    const d = triage(facts({ signals: [signal('inactive_90d'), signal('repeat_reset')] }), DEFAULT_POLICY);
    assert.equal(d.riskScore, 20);
    const r = d.reasons.find((x) => x.code === 'risk_inactive_90d');
    assert.ok(r);
    assert.match(r.detail, /\+10/);
    assert.ok(codes(d).includes('risk_repeat_reset'));
  });
});

describe('Tiers: preCompletionTiersMet (all but the Tier 3 link before completion)', () => {
  const T3_PLUS_T1_OR_T2: TierRequirement = { all: [3], anyOf: [1, 2] };
  const ALL: TierRequirement = { all: [1, 2, 3], anyOf: [] };

  it('with Tier 3 by link, T3 + (T1 or T2) needs T1 or T2 before completion', () => {
    assert.equal(preCompletionTiersMet(T3_PLUS_T1_OR_T2, [], true), false);
    assert.equal(preCompletionTiersMet(T3_PLUS_T1_OR_T2, [1], true), true);
    assert.equal(preCompletionTiersMet(T3_PLUS_T1_OR_T2, [2], true), true);
  });

  it('with Tier 3 by link, T1 + T2 + T3 needs both T1 and T2 before completion', () => {
    assert.equal(preCompletionTiersMet(ALL, [1], true), false);
    assert.equal(preCompletionTiersMet(ALL, [2], true), false);
    assert.equal(preCompletionTiersMet(ALL, [1, 2], true), true);
  });

  it('without a link, Tier 3 must already have passed', () => {
    assert.equal(preCompletionTiersMet(ALL, [1, 2], false), false);
    assert.equal(preCompletionTiersMet(ALL, [1, 2, 3], false), true);
    assert.equal(preCompletionTiersMet(T3_PLUS_T1_OR_T2, [1], false), false);
    assert.equal(preCompletionTiersMet(T3_PLUS_T1_OR_T2, [3, 2], false), true);
  });
});

describe('Tiers: tiersMet (Tier 1 alone is never sufficient)', () => {
  it('T3 + (T1 or T2): needs T3 and one of T1, T2', () => {
    const req: TierRequirement = { all: [3], anyOf: [1, 2] };
    assert.equal(tiersMet(req, [3]), false);
    assert.equal(tiersMet(req, [1]), false);
    assert.equal(tiersMet(req, [1, 2]), false);
    assert.equal(tiersMet(req, [1, 3]), true);
    assert.equal(tiersMet(req, [2, 3]), true);
  });

  it('T1 + T2 + T3: needs all three', () => {
    const req: TierRequirement = { all: [1, 2, 3], anyOf: [] };
    assert.equal(tiersMet(req, [1, 2]), false);
    assert.equal(tiersMet(req, [2, 3]), false);
    assert.equal(tiersMet(req, [1, 3]), false);
    assert.equal(tiersMet(req, [1, 2, 3]), true);
    assert.equal(tiersMet(req, [3, 2, 1]), true);
  });

  it('Tier 1 alone fails even a requirement that asks only for Tier 1', () => {
    assert.equal(tiersMet({ all: [1], anyOf: [] }, [1]), false);
    assert.equal(tiersMet({ all: [], anyOf: [1] }, [1]), false);
    assert.equal(tiersMet({ all: [], anyOf: [] }, [1]), false);
    assert.equal(tiersMet({ all: [], anyOf: [] }, [1, 1, 1]), false);
  });

  it('no tier passed never meets a requirement', () => {
    assert.equal(tiersMet({ all: [], anyOf: [] }, []), false);
    for (const kind of RECOVERY_KINDS)
      for (const row of ['standard', 'privileged', 'elevated'] as const) {
        assert.equal(tiersMet(DEFAULT_POLICY.rules[kind][row].tiers, []), false, `${kind}.${row}`);
        assert.equal(tiersMet(DEFAULT_POLICY.rules[kind][row].tiers, [1]), false, `${kind}.${row}`);
      }
  });
});
