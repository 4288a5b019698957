// Policy (domain/policy.ts): the SPEC defaults, tenant overrides and their bounds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, isPrivileged, policyOverrideSchema, resolvePolicy, type Policy, type RecoveryRule } from '../../domain/policy';
import { ACCOUNT_ROLES, RECOVERY_KINDS } from '../../domain/types';

const HOUR = 3600;
const T3_PLUS_T1_OR_T2 = { all: [3], anyOf: [1, 2] };
const ALL_TIERS = { all: [1, 2, 3], anyOf: [] };

function weakerThan(a: RecoveryRule, b: RecoveryRule): boolean {
  return a.approvals < b.approvals || a.waitSeconds < b.waitSeconds;
}

function assertMonotone(p: Policy): void {
  for (const kind of RECOVERY_KINDS) {
    const r = p.rules[kind];
    assert.ok(!weakerThan(r.privileged, r.standard), `${kind}: privileged weaker than standard ${JSON.stringify(r)}`);
    assert.ok(!weakerThan(r.elevated, r.standard), `${kind}: elevated weaker than standard ${JSON.stringify(r)}`);
    assert.ok(!weakerThan(r.elevated, r.privileged), `${kind}: elevated weaker than privileged ${JSON.stringify(r)}`);
    assert.ok(r.elevated.approvals >= p.manualReviewApprovals, `${kind}: elevated below manual-review approvals`);
  }
}

describe('DEFAULT_POLICY matches the SPEC defaults table', () => {
  it('password reset, standard user, low risk: T3 + (T1 or T2), 0 approvals, no wait', () => {
    assert.deepEqual(DEFAULT_POLICY.rules.password_reset.standard, { approvals: 0, waitSeconds: 0, tiers: T3_PLUS_T1_OR_T2 });
  });

  it('password reset, admin/exec/finance: T1 + T2 + T3, 1 approval, 24 h wait', () => {
    assert.deepEqual(DEFAULT_POLICY.rules.password_reset.privileged, { approvals: 1, waitSeconds: 24 * HOUR, tiers: ALL_TIERS });
  });

  it('password reset, medium risk or manual review: never weaker than approval + 48 h', () => {
    const r = DEFAULT_POLICY.rules.password_reset.elevated;
    assert.ok(r.approvals >= 1);
    assert.ok(r.waitSeconds >= 48 * HOUR);
    assert.deepEqual(r.tiers, ALL_TIERS);
  });

  it('MFA reset, standard user: T1 + T2 + T3, 1 approval, 24 h wait', () => {
    assert.deepEqual(DEFAULT_POLICY.rules.mfa_reset.standard, { approvals: 1, waitSeconds: 24 * HOUR, tiers: ALL_TIERS });
  });

  it('MFA reset, admin/exec/finance: T1 + T2 + T3, 2 approvals, 48 h wait', () => {
    assert.deepEqual(DEFAULT_POLICY.rules.mfa_reset.privileged, { approvals: 2, waitSeconds: 48 * HOUR, tiers: ALL_TIERS });
  });

  it('MFA reset, medium risk: T1 + T2 + T3, 2 approvals, 48 h wait', () => {
    assert.deepEqual(DEFAULT_POLICY.rules.mfa_reset.elevated, { approvals: 2, waitSeconds: 48 * HOUR, tiers: ALL_TIERS });
  });

  it('email links expire in 15 minutes', () => {
    assert.equal(DEFAULT_POLICY.tokenTtlSeconds, 15 * 60);
  });

  it('rate limits: 5 requests per hour per IP, 3 per 24 h per account', () => {
    assert.deepEqual(DEFAULT_POLICY.rateLimits, { perIpPerHour: 5, perAccountPer24h: 3 });
  });

  it('5 wrong answers end the recovery; 100 consecutive account failures require manual review', () => {
    assert.equal(DEFAULT_POLICY.maxFailedVerifications, 5);
    assert.equal(DEFAULT_POLICY.maxConsecutiveAccountFailures, 100);
  });

  it('manual review requires 2 approvals', () => {
    assert.equal(DEFAULT_POLICY.manualReviewApprovals, 2);
  });

  it('Tier 1 is never sufficient alone in any default row', () => {
    for (const kind of RECOVERY_KINDS) {
      for (const row of ['standard', 'privileged', 'elevated'] as const) {
        const t = DEFAULT_POLICY.rules[kind][row].tiers;
        assert.ok(
          t.all.some((x) => x !== 1),
          `${kind}.${row} requires a tier other than 1`,
        );
      }
    }
  });

  it('privileged and elevated rows are never weaker than standard by default', () => {
    assertMonotone(DEFAULT_POLICY);
  });

  it('admin, executive and finance are privileged; standard is not', () => {
    assert.deepEqual(
      ACCOUNT_ROLES.filter((r) => isPrivileged(r)),
      ['admin', 'executive', 'finance'],
    );
    assert.equal(isPrivileged('standard'), false);
  });
});

describe('resolvePolicy applies tenant overrides', () => {
  it('returns the defaults for no override', () => {
    assert.deepEqual(resolvePolicy(null), DEFAULT_POLICY);
    assert.deepEqual(resolvePolicy(undefined), DEFAULT_POLICY);
    assert.deepEqual(resolvePolicy({}), DEFAULT_POLICY);
  });

  it('returns a copy: mutating the result never changes DEFAULT_POLICY', () => {
    const p = resolvePolicy(null);
    p.rules.mfa_reset.standard.approvals = 0;
    p.rateLimits.perIpPerHour = 999;
    assert.equal(DEFAULT_POLICY.rules.mfa_reset.standard.approvals, 1);
    assert.equal(DEFAULT_POLICY.rateLimits.perIpPerHour, 5);
  });

  it('applies scalar, rate-limit and rule overrides, keeping the other values', () => {
    const p = resolvePolicy({
      tokenTtlSeconds: 600,
      maxFailedVerifications: 3,
      rateLimits: { perIpPerHour: 10 },
      rules: { mfa_reset: { standard: { waitSeconds: 72 * HOUR } } },
    });
    assert.equal(p.tokenTtlSeconds, 600);
    assert.equal(p.maxFailedVerifications, 3);
    assert.deepEqual(p.rateLimits, { perIpPerHour: 10, perAccountPer24h: 3 });
    assert.equal(p.rules.mfa_reset.standard.waitSeconds, 72 * HOUR);
    assert.equal(p.rules.mfa_reset.standard.approvals, 1);
    assert.deepEqual(p.rules.mfa_reset.standard.tiers, ALL_TIERS);
    assert.deepEqual(p.rules.password_reset, DEFAULT_POLICY.rules.password_reset);
    assert.equal(p.verificationWindowSeconds, DEFAULT_POLICY.verificationWindowSeconds);
  });

  it('does not let overrides change the defaults seen by the next tenant', () => {
    resolvePolicy({ rules: { password_reset: { standard: { approvals: 3 } } } });
    assert.equal(resolvePolicy(null).rules.password_reset.standard.approvals, 0);
  });
});

describe('resolvePolicy never lets privileged or elevated rows end weaker than standard', () => {
  it('raising standard approvals raises privileged and elevated to match', () => {
    const p = resolvePolicy({ rules: { password_reset: { standard: { approvals: 4 } } } });
    assert.equal(p.rules.password_reset.standard.approvals, 4);
    assert.equal(p.rules.password_reset.privileged.approvals, 4);
    assert.equal(p.rules.password_reset.elevated.approvals, 4);
    assertMonotone(p);
  });

  it('raising the standard wait raises privileged and elevated waits to match', () => {
    const p = resolvePolicy({ rules: { mfa_reset: { standard: { waitSeconds: 96 * HOUR } } } });
    assert.equal(p.rules.mfa_reset.privileged.waitSeconds, 96 * HOUR);
    assert.equal(p.rules.mfa_reset.elevated.waitSeconds, 96 * HOUR);
    assertMonotone(p);
  });

  it('lowering privileged below standard is clamped up to standard', () => {
    const p = resolvePolicy({ rules: { mfa_reset: { privileged: { approvals: 0, waitSeconds: 0 } } } });
    assert.equal(p.rules.mfa_reset.privileged.approvals, 1);
    assert.equal(p.rules.mfa_reset.privileged.waitSeconds, 24 * HOUR);
    assertMonotone(p);
  });

  it('lowering elevated is clamped up to privileged and to the manual-review approvals', () => {
    const p = resolvePolicy({ rules: { password_reset: { elevated: { approvals: 0, waitSeconds: 0 } } } });
    assert.equal(p.rules.password_reset.elevated.approvals, 2);
    assert.equal(p.rules.password_reset.elevated.waitSeconds, 24 * HOUR);
    assertMonotone(p);
  });

  it('holds for every combination of rule overrides', () => {
    const approvals = [0, 1, 3, 5];
    const waits = [0, 24 * HOUR, 100 * HOUR];
    for (const sa of approvals)
      for (const pa of approvals)
        for (const ea of approvals)
          for (const sw of waits)
            for (const pw of waits)
              for (const ew of waits) {
                const rule = {
                  standard: { approvals: sa, waitSeconds: sw },
                  privileged: { approvals: pa, waitSeconds: pw },
                  elevated: { approvals: ea, waitSeconds: ew },
                };
                assertMonotone(resolvePolicy({ rules: { password_reset: rule, mfa_reset: rule } }));
              }
  });
});

describe("policyOverrideSchema('production') bounds every value", () => {
  const prod = policyOverrideSchema('production');
  const withWait = (waitSeconds: number) => ({ rules: { mfa_reset: { standard: { waitSeconds } } } });

  it('rejects a waiting period between 1 s and 24 h', () => {
    for (const w of [1, 60, 3600, 12 * HOUR, 86399]) {
      assert.equal(prod.safeParse(withWait(w)).success, false, `wait ${w}`);
    }
  });

  it('rejects a short waiting period in every row and kind', () => {
    for (const kind of ['password_reset', 'mfa_reset'] as const) {
      for (const row of ['standard', 'privileged', 'elevated'] as const) {
        const doc = { rules: { [kind]: { [row]: { waitSeconds: 60 } } } };
        assert.equal(prod.safeParse(doc).success, false, `${kind}.${row}`);
      }
    }
  });

  it('accepts a waiting period of 0 or at least 86400 s', () => {
    for (const w of [0, 86400, 48 * HOUR]) {
      assert.equal(prod.safeParse(withWait(w)).success, true, `wait ${w}`);
    }
  });

  it('rejects a negative or fractional waiting period', () => {
    assert.equal(prod.safeParse(withWait(-86400)).success, false);
    assert.equal(prod.safeParse(withWait(86400.5)).success, false);
  });

  it('rejects a token TTL below 300 s or above 3600 s', () => {
    for (const t of [0, 1, 60, 299, 3601, 86400]) {
      assert.equal(prod.safeParse({ tokenTtlSeconds: t }).success, false, `ttl ${t}`);
    }
  });

  it('accepts a token TTL from 300 s to 3600 s', () => {
    for (const t of [300, 900, 3600]) {
      assert.equal(prod.safeParse({ tokenTtlSeconds: t }).success, true, `ttl ${t}`);
    }
  });

  it('an invitation link lives 15 minutes to 24 hours (NIST caps an emailed secret at 24 h); 24 h by default', () => {
    for (const t of [0, 60, 899, 86401, 7 * 86400]) assert.equal(prod.safeParse({ invitationTtlSeconds: t }).success, false, `ttl ${t}`);
    for (const t of [900, 3600, 86400]) assert.equal(prod.safeParse({ invitationTtlSeconds: t }).success, true, `ttl ${t}`);
    assert.equal(DEFAULT_POLICY.invitationTtlSeconds, 86400);
    assert.equal(resolvePolicy({ invitationTtlSeconds: 3600 }).invitationTtlSeconds, 3600);
  });

  it('rejects unknown keys at every level', () => {
    assert.equal(prod.safeParse({ tokenTtl: 900 }).success, false);
    assert.equal(prod.safeParse({ maxConsecutiveAccountFailures: 1000 }).success, false);
    assert.equal(prod.safeParse({ rateLimits: { perIpPerDay: 5 } }).success, false);
    assert.equal(prod.safeParse({ rules: { break_glass: {} } }).success, false);
    assert.equal(prod.safeParse({ rules: { mfa_reset: { vip: {} } } }).success, false);
    assert.equal(prod.safeParse({ rules: { mfa_reset: { standard: { tiers: { all: [1], anyOf: [] } } } } }).success, false);
  });

  it('rejects values of the wrong type', () => {
    assert.equal(prod.safeParse({ tokenTtlSeconds: '900' }).success, false);
    assert.equal(prod.safeParse({ rules: { mfa_reset: { standard: { approvals: 1.5 } } } }).success, false);
  });

  it('accepts an empty document', () => {
    assert.equal(prod.safeParse({}).success, true);
  });

  it('knowledgeFactors: 1 to 10 factor names, each once, or absent (every enrolled factor)', () => {
    assert.equal(prod.safeParse({ knowledgeFactors: ['card_last4', 'postcode'] }).success, true);
    assert.equal(prod.safeParse({ knowledgeFactors: [] }).success, false);
    assert.equal(prod.safeParse({ knowledgeFactors: ['postcode', 'postcode'] }).success, false);
    assert.equal(prod.safeParse({ knowledgeFactors: ['Post Code'] }).success, false);
    assert.equal(prod.safeParse({ knowledgeFactors: Array.from({ length: 11 }, (_, i) => `q${i}`) }).success, false);
    assert.equal(resolvePolicy(null).knowledgeFactors, null);
  });

  it('names the offending field in the error', () => {
    const r = prod.safeParse(withWait(60));
    assert.equal(r.success, false);
    assert.deepEqual(r.error.issues[0].path, ['rules', 'mfa_reset', 'standard', 'waitSeconds']);
  });
});

describe("policyOverrideSchema('dev') allows second-scale durations", () => {
  const dev = policyOverrideSchema('dev');

  it('accepts second-scale waiting periods and token TTLs', () => {
    const doc = {
      tokenTtlSeconds: 5,
      verificationWindowSeconds: 10,
      approvalDeadlineSeconds: 20,
      rules: {
        password_reset: { privileged: { waitSeconds: 2 } },
        mfa_reset: { standard: { waitSeconds: 1 }, privileged: { waitSeconds: 3 }, elevated: { waitSeconds: 4 } },
      },
    };
    const r = dev.safeParse(doc);
    assert.equal(r.success, true, JSON.stringify(r.error?.issues));
    assert.equal(resolvePolicy(r.data).rules.mfa_reset.elevated.waitSeconds, 4);
  });

  it('still rejects negative durations, a zero token TTL and unknown keys', () => {
    assert.equal(dev.safeParse({ rules: { mfa_reset: { standard: { waitSeconds: -1 } } } }).success, false);
    assert.equal(dev.safeParse({ tokenTtlSeconds: 0 }).success, false);
    assert.equal(dev.safeParse({ tokenTtlSeconds: 3601 }).success, false);
    assert.equal(dev.safeParse({ bogus: 1 }).success, false);
  });
});
