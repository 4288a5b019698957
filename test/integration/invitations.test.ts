// Onboarding without SSO over real HTTP, Temporal, Postgres and SMTP: an admin invites an account
// the engine holds; the invitee enrols an authenticator, confirms it with a code, then sets a
// password, and signs in with both. The link goes to the registered address only, the TOTP secret
// and codes never reach workflow history, and TOTP then serves as Tier 3 for a password reset.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPassword } from '../../store/directory';
import { startHarness, type Harness } from '../../testkit/engine';
import { historyText } from '../../testkit/history';
import { codeIn, enrol, invitationState, invite, register } from '../../testkit/invitations';
import { recoveryRow } from '../../testkit/inspect';
import { auditActionsOf, auditEvents } from '../../testkit/inspect-audit';
import { KNOWLEDGE, nextIp, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

const PASSWORD = 'lantern-meadow-swims-58-tides';

let h: Harness;
before(async () => {
  h = await startHarness({ env: { TRUST_PROXY: 'true' } });
});
after(async () => {
  await h?.close();
});

const signIn = (tenantId: string, accountId: string, password: string, totp?: string) =>
  h.api('POST', '/v1/directory/password-sessions', {
    key: null,
    headers: { 'x-forwarded-for': nextIp() },
    body: { tenantId, accountId, password, ...(totp ? { totp } : {}) },
  });

/** A local tenant and an account imported without a password. */
async function newcomer() {
  const tenantId = await seedTenant(h, 'local');
  const accountId = await seedAccount(h, tenantId, { password: null });
  return { tenantId, accountId };
}

describe('TOTP enrolment, then the password, then login', () => {
  it('the invitee enrols and confirms an authenticator, sets a password only after it, and signs in with both', async () => {
    const { tenantId, accountId } = await newcomer();
    const inv = await invite(h, tenantId, accountId);
    assert.deepEqual(inv.mail.to, [`${accountId}@${tenantId}.test`], 'the link goes to the primary registered address only');
    const described = await h.api('GET', `/v1/links/${inv.token}?tenant=${tenantId}`, { key: null });
    assert.equal(described.status, 200, described.text);
    assert.equal(described.body.purpose, 'invitation');
    assert.deepEqual(described.body.requires, ['factor', 'code', 'newPassword']);

    const early = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: PASSWORD } });
    assert.equal(early.status, 409, early.text);
    assert.equal(early.body.error.code, 'factor_not_confirmed');

    const secret = await enrol(h, tenantId, inv.token);
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const wrongCode = codeIn(secret) === '000000' ? '000001' : '000000';
    const wrong = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: wrongCode } });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.body.error.code, 'totp_invalid');
    const confirmed = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: codeIn(secret) } });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.deepEqual((await h.api('GET', `/v1/links/${inv.token}?tenant=${tenantId}`, { key: null })).body.requires, ['newPassword']);

    const weak = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: 'password' } });
    assert.equal(weak.status, 400, weak.text);
    assert.equal(weak.body.error.details.field, 'newPassword');
    const set = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: PASSWORD } });
    assert.equal(set.status, 200, set.text);
    await until('registered', async () => (await invitationState(h, inv.id)) === 'registered', 30_000);
    assert.equal(await checkPassword(h.db, tenantId, accountId, PASSWORD), true, 'the password went through the tenant directory');

    const withoutCode = await signIn(tenantId, accountId, PASSWORD);
    assert.equal(withoutCode.status, 401, withoutCode.text);
    const signedIn = await signIn(tenantId, accountId, PASSWORD, codeIn(secret, 1));
    assert.equal(signedIn.status, 201, signedIn.text);

    const view = await h.api('GET', `/v1/invitations/${inv.id}`);
    assert.equal(view.status, 200, view.text);
    assert.equal(view.body.state, 'registered');
    assert.equal(view.body.factorConfirmed, true);
    assert.ok(!view.text.includes(inv.token) && !view.text.includes(secret), 'the invitation shows its state, never its link or secret');
    // The link is recorded as issued once the mail is out: the invitee may be quicker than that record.
    const actions = (await auditActionsOf(h.db, inv.id)).filter((a) => a.startsWith('invitation.'));
    assert.equal(actions.filter((a) => a === 'invitation.link_issued').length, 1);
    assert.deepEqual(
      actions.filter((a) => a !== 'invitation.link_issued'),
      [
        'invitation.created',
        'invitation.factor_started',
        'invitation.factor_code_refused',
        'invitation.factor_confirmed',
        'invitation.password_set',
        'invitation.registered',
      ],
    );
    const refused = await auditEvents(h.db, { tenantId, action: 'directory.sign_in_refused' });
    assert.deepEqual(
      refused.map((e) => e.details.reason),
      ['totp_required'],
    );
    const hist = await historyText(h, `invitation:${tenantId}:${accountId}`);
    for (const secretValue of [inv.token, secret, PASSWORD, codeIn(secret)])
      assert.ok(!hist.includes(secretValue), 'no token, secret, code or password in history');
    const logged = JSON.stringify(await auditEvents(h.db, { tenantId }));
    for (const secretValue of [inv.token, secret, PASSWORD]) assert.ok(!logged.includes(secretValue), 'nor in the audit log');
  });
});

describe('TOTP as Tier 3 of a recovery', () => {
  async function registered() {
    const { tenantId, accountId } = await newcomer();
    const { secret } = await register(h, tenantId, accountId, PASSWORD);
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
    return { tenantId, accountId, secret, agent };
  }

  it('passes Tier 3 of a password reset with a fresh code; the code is checked by the API and never reaches history', async () => {
    const { tenantId, accountId, secret, agent } = await registered();
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const code = codeIn(secret, 1);
    const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'totp', code } });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.body.passed, true, v.text);
    const passed = await auditEvents(h.db, { caseId: id, action: 'verification.passed' });
    assert.deepEqual(
      passed.map((e) => e.details.tier),
      [3],
    );
    // Tier 1 completes the rule: the completion link goes out to the registered address.
    const k = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
    assert.equal(k.body.passed, true, k.text);
    await until('awaiting completion', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state === 'awaiting_completion');
    const hist = await historyText(h, (await recoveryRow(h.db, id)).workflow_id);
    assert.ok(!hist.includes(code), 'the TOTP code never enters history');
  });

  it('a code used already within its window does not pass Tier 3', async () => {
    const { tenantId, accountId, secret, agent } = await registered();
    const code = codeIn(secret, 1);
    assert.equal((await signIn(tenantId, accountId, PASSWORD, code)).status, 201);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    const v = await h.api('POST', `/v1/recoveries/${created.body.id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'totp', code } });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.body.passed, false);
    assert.deepEqual(v.body.evidence, ['the TOTP code was used already within its window']);
  });

  it('is refused for an MFA reset: the authenticator is the factor being reset', async () => {
    const { tenantId, accountId, secret, agent } = await registered();
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
    assert.equal(created.status, 202, created.text);
    const code = codeIn(secret, 1);
    const v = await h.api('POST', `/v1/recoveries/${created.body.id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'totp', code } });
    assert.equal(v.status, 409, v.text);
    assert.equal(v.body.error.code, 'channel_not_allowed');
    // The code was not used up: it still signs in.
    assert.equal((await signIn(tenantId, accountId, PASSWORD, code)).status, 201);
  });
});
