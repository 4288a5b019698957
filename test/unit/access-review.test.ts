// The access review's rule (domain/access-review.ts) and its policy section (domain/policy.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessReviewFindings, countByKind, INACTIVE_DAYS, type ReviewAccount, type ReviewFacts } from '../../domain/access-review';
import { ACCESS_REVIEW_CADENCE, DEFAULT_POLICY, policyOverrideSchema, resolvePolicy } from '../../domain/policy';

const AS_OF = '2026-12-01T00:00:00.000Z';
const daysBefore = (n: number) => new Date(Date.parse(AS_OF) - n * 86_400_000).toISOString();

const account = (id: string, o: Partial<ReviewAccount> = {}): ReviewAccount => ({
  accountId: id,
  status: 'active',
  authMethod: 'sso',
  createdAt: daysBefore(400),
  lastLoginAt: daysBefore(1),
  mfaFactors: 1,
  directoryActive: true,
  ...o,
});
const facts = (o: Partial<ReviewFacts>): ReviewFacts => ({ asOf: AS_OF, accounts: [], breakGlassGrants: [], approvers: [], ...o });
const kinds = (f: ReviewFacts) => accessReviewFindings(f).map((x) => `${x.kind} ${x.target}`);

describe('inactive accounts: 90 days without a sign-in', () => {
  it('an account last seen exactly 90 days ago is flagged; one seen 89 days ago is not', () => {
    const f = facts({
      accounts: [account('old', { lastLoginAt: daysBefore(INACTIVE_DAYS) }), account('recent', { lastLoginAt: daysBefore(INACTIVE_DAYS - 1) })],
    });
    assert.deepEqual(kinds(f), ['inactive_account account:old']);
    assert.equal(accessReviewFindings(f)[0].evidence.idleDays, 90);
  });

  it('an account never signed in to counts from its creation', () => {
    const f = facts({
      accounts: [account('never', { lastLoginAt: null, createdAt: daysBefore(91) }), account('new', { lastLoginAt: null, createdAt: daysBefore(10) })],
    });
    assert.deepEqual(kinds(f), ['inactive_account account:never']);
  });

  it('suspended or deprovisioned accounts are not reviewed for inactivity (they cannot sign in)', () => {
    const f = facts({
      accounts: [
        account('s', { status: 'suspended', lastLoginAt: daysBefore(300), directoryActive: false }),
        account('d', { status: 'deprovisioned', lastLoginAt: daysBefore(300), directoryActive: false }),
      ],
    });
    assert.deepEqual(kinds(f), []);
  });
});

describe('local accounts without MFA', () => {
  it('a local account with no active factor is flagged; with one, or SSO, it is not', () => {
    const f = facts({
      accounts: [
        account('a', { authMethod: 'local', mfaFactors: 0 }),
        account('b', { authMethod: 'local', mfaFactors: 1 }),
        account('c', { authMethod: 'sso', mfaFactors: 0 }),
      ],
    });
    assert.deepEqual(kinds(f), ['local_without_mfa account:a']);
  });

  it('a remote directory keeps the factors: unknown (null) is never flagged', () => {
    assert.deepEqual(kinds(facts({ accounts: [account('r', { authMethod: 'local', mfaFactors: null })] })), []);
  });
});

describe('orphans: accounts missing from the IdP membership', () => {
  it('the IdP removed it (SCIM) but the directory still lets it sign in: flagged and suspendable', () => {
    const [f] = accessReviewFindings(facts({ accounts: [account('gone', { status: 'deprovisioned', directoryActive: true })] }));
    assert.equal(f.kind, 'orphaned_account');
    assert.equal(f.suspendAccount, 'gone');
  });

  it('the directory no longer holds an account the engine counts active: flagged, report only', () => {
    const [f] = accessReviewFindings(facts({ accounts: [account('lost', { directoryActive: null })] }));
    assert.equal(f.kind, 'orphaned_account');
    assert.equal(f.suspendAccount, null);
  });

  it('removed by the IdP and disabled in the directory alike is not an orphan', () => {
    assert.deepEqual(kinds(facts({ accounts: [account('done', { status: 'suspended', directoryActive: false })] })), []);
  });
});

describe('break-glass grants never reviewed', () => {
  const grant = (id: string, state: string, endsDaysAgo: number | null) => ({
    grantId: id,
    accountId: 'root',
    state,
    credentialEndsAt: endsDaysAgo === null ? null : daysBefore(endsDaysAgo),
  });
  it('a credential that ended without the review closing the grant is flagged', () => {
    assert.deepEqual(kinds(facts({ breakGlassGrants: [grant('bg_a', 'awaiting_review', 3), grant('bg_b', 'failed', 40)] })), [
      'break_glass_unreviewed grant:bg_a',
      'break_glass_unreviewed grant:bg_b',
    ]);
  });
  it('a reviewed grant, a credential still live, or none issued is not', () => {
    assert.deepEqual(kinds(facts({ breakGlassGrants: [grant('bg_c', 'completed', 3), grant('bg_d', 'active', -0.01), grant('bg_e', 'denied', null)] })), []);
  });
});

describe('approvers whose own accounts are stale', () => {
  const approver = (id: string, account: { lastLoginAt: string | null; status?: string } | null) => ({
    principalId: id,
    name: `approver ${id}`,
    roles: ['approver'],
    account: account && { accountId: `acct-${id}`, status: account.status ?? 'active', createdAt: daysBefore(400), lastLoginAt: account.lastLoginAt },
  });
  it('stale (90 days), suspended or missing own accounts are flagged; an active one is not', () => {
    const f = facts({
      approvers: [
        approver('prn_a', { lastLoginAt: daysBefore(90) }),
        approver('prn_b', { lastLoginAt: daysBefore(89) }),
        approver('prn_c', { lastLoginAt: daysBefore(1), status: 'suspended' }),
        approver('prn_d', null),
      ],
    });
    assert.deepEqual(kinds(f), ['stale_approver principal:prn_a', 'stale_approver principal:prn_c', 'stale_approver principal:prn_d']);
    assert.ok(
      accessReviewFindings(f).every((x) => x.suspendAccount === null),
      'approvers are reported, never suspended by the review',
    );
  });
});

describe("the tenant's designated break-glass account", () => {
  it('is reported when idle or without MFA, but never suspended by the review', () => {
    const found = accessReviewFindings(
      facts({
        accounts: [
          account('bg', { breakGlass: true, authMethod: 'local', mfaFactors: 0, lastLoginAt: daysBefore(200) }),
          account('x', { lastLoginAt: daysBefore(200) }),
        ],
      }),
    );
    assert.deepEqual(
      found.map((f) => [f.kind, f.target, f.suspendAccount]),
      [
        ['inactive_account', 'account:bg', null],
        ['local_without_mfa', 'account:bg', null],
        ['inactive_account', 'account:x', 'x'],
      ],
    );
    assert.equal(found[0].evidence.breakGlassAccount, true);
  });
});

describe('the report is stable', () => {
  it('findings come in the same order whatever order the facts arrive in, counted by kind', () => {
    const accounts = [account('b', { lastLoginAt: daysBefore(100) }), account('a', { authMethod: 'local', mfaFactors: 0, lastLoginAt: daysBefore(100) })];
    const one = accessReviewFindings(facts({ accounts }));
    const two = accessReviewFindings(facts({ accounts: [...accounts].reverse() }));
    assert.deepEqual(one, two);
    assert.deepEqual(
      one.map((x) => `${x.kind} ${x.target}`),
      ['inactive_account account:a', 'local_without_mfa account:a', 'inactive_account account:b'],
    );
    assert.deepEqual(countByKind(one), { inactive_account: 2, local_without_mfa: 1, orphaned_account: 0, break_glass_unreviewed: 0, stale_approver: 0 });
  });
});

describe('policy: the access-review section', () => {
  it('defaults to a weekly review that reports only', () => {
    assert.deepEqual(DEFAULT_POLICY.accessReview, { cadenceSeconds: 7 * 86400, action: 'report' });
  });

  it('production bounds the cadence between a day and 90 days; dev allows a minute', () => {
    const prod = policyOverrideSchema('production');
    const dev = policyOverrideSchema('dev');
    assert.equal(prod.safeParse({ accessReview: { cadenceSeconds: 3600 } }).success, false);
    assert.equal(prod.safeParse({ accessReview: { cadenceSeconds: ACCESS_REVIEW_CADENCE.minSeconds } }).success, true);
    assert.equal(prod.safeParse({ accessReview: { cadenceSeconds: ACCESS_REVIEW_CADENCE.maxSeconds + 1 } }).success, false);
    assert.equal(dev.safeParse({ accessReview: { cadenceSeconds: 60 } }).success, true);
    assert.equal(dev.safeParse({ accessReview: { cadenceSeconds: 59 } }).success, false);
  });

  it('the action is report or suspend, nothing else', () => {
    const prod = policyOverrideSchema('production');
    assert.equal(prod.safeParse({ accessReview: { action: 'suspend' } }).success, true);
    assert.equal(prod.safeParse({ accessReview: { action: 'delete' } }).success, false);
    assert.equal(prod.safeParse({ accessReview: { action: 'report', extra: 1 } }).success, false);
  });

  it('an override changes only what it names', () => {
    assert.deepEqual(resolvePolicy({ accessReview: { action: 'suspend' } }).accessReview, { cadenceSeconds: 7 * 86400, action: 'suspend' });
    assert.deepEqual(DEFAULT_POLICY.accessReview.action, 'report', 'the defaults are not changed by resolving');
  });
});
