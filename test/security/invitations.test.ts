// Attacks on onboarding without SSO: a link used twice, an invitation steered to an address given
// in the request, an invitation that would create a local password for an SSO tenant or account,
// a second invitation (or one for a registered account) as a way around a recovery, another
// tenant's invitation read, a TOTP code replayed within its window, and codes guessed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { codeIn, enrol, invitationState, invite, register } from '../../testkit/invitations';
import { until } from '../../testkit/wait';
import { auditEvents, countAuditEvents } from '../../testkit/inspect-audit';
import { recoveryRow, rowCounts } from '../../testkit/inspect';
import { nextIp, OLD_PASSWORD, recoveryBody, seedAccount, seedLocalAccount, seedPrincipal, seedTenant } from '../../testkit/seed';
import { statusQuery, submitVerificationUpdate } from '../../contracts/recovery';
import { attestationKeys } from '../../infra/secrets';
import { createAttestation } from '../../store/attestations';

const PASSWORD = 'copper-falcon-draws-63-maps';

let h: Harness;
before(async () => {
  h = await startHarness({ env: { TRUST_PROXY: 'true' } });
});
after(async () => {
  await h?.close();
});

const signIn = (tenantId: string, accountId: string, totp?: string) =>
  h.api('POST', '/v1/directory/password-sessions', {
    key: null,
    headers: { 'x-forwarded-for': nextIp() },
    body: { tenantId, accountId, password: PASSWORD, ...(totp ? { totp } : {}) },
  });

async function newcomer(authMode: 'local' | 'mixed' | 'sso_enforced' = 'local', o: { authMethod?: 'local' | 'sso' } = {}) {
  const tenantId = await seedTenant(h, authMode);
  const accountId = await seedAccount(h, tenantId, { password: null, ...o });
  return { tenantId, accountId };
}

describe('an invitation link works once', () => {
  it('used twice: after registration every step of the link answers link_invalid, and the password stays', async () => {
    const { tenantId, accountId } = await newcomer();
    const inv = await register(h, tenantId, accountId, PASSWORD);
    const again = [
      await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: 'another-valid-passphrase-91' } }),
      await h.api('POST', '/v1/links/factor', { key: null, body: { token: inv.token, tenantId, factor: { type: 'totp' } } }),
      await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: codeIn(inv.secret, 1) } }),
      await h.api('GET', `/v1/links/${inv.token}?tenant=${tenantId}`, { key: null }),
    ];
    for (const r of again) {
      assert.equal(r.status, 404, r.text);
      assert.equal(r.body.error.code, 'link_invalid');
    }
    assert.equal((await signIn(tenantId, accountId, codeIn(inv.secret, 1))).status, 201, 'the first password still signs in');
  });

  it('a second enrolment before confirmation replaces the secret: the first one no longer confirms', async () => {
    const { tenantId, accountId } = await newcomer();
    const inv = await invite(h, tenantId, accountId);
    const first = await enrol(h, tenantId, inv.token);
    const second = await enrol(h, tenantId, inv.token);
    assert.notEqual(first, second);
    const code = codeIn(first);
    if (code !== codeIn(second)) {
      const stale = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code } });
      assert.equal(stale.status, 400, stale.text);
    }
    const ok = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: codeIn(second) } });
    assert.equal(ok.status, 200, ok.text);
    const third = await h.api('POST', '/v1/links/factor', { key: null, body: { token: inv.token, tenantId, factor: { type: 'totp' } } });
    assert.equal(third.status, 409, 'a confirmed factor is never replaced through the link');
    assert.equal(third.body.error.code, 'factor_confirmed');
  });
});

describe('the link goes only to an address the engine holds', () => {
  it('an address in the request is refused (400 naming it), and nothing is recorded or mailed', async () => {
    const { tenantId, accountId } = await newcomer();
    const before = await rowCounts(h.db);
    for (const body of [
      { tenantId, accountId, email: 'attacker@evil.test' },
      { tenantId, accountId, to: 'attacker@evil.test' },
    ]) {
      const r = await h.api('POST', '/v1/invitations', { body });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.details.field, Object.keys(body)[2]);
    }
    assert.deepEqual(await rowCounts(h.db), before);
    const inv = await invite(h, tenantId, accountId);
    assert.deepEqual(inv.mail.to, [`${accountId}@${tenantId}.test`]);
    assert.equal(h.sink.list().filter((m) => m.to.includes('attacker@evil.test')).length, 0);
  });
});

describe('no local password through an invitation where SSO rules', () => {
  it('an SSO-enforcing tenant and an SSO-managed account of a mixed tenant are refused with 409 and a clear code', async () => {
    const sso = await newcomer('sso_enforced', { authMethod: 'sso' });
    const mixed = await newcomer('mixed', { authMethod: 'sso' });
    const answers = {
      sso_enforced: await h.api('POST', '/v1/invitations', { body: sso }),
      sso_managed: await h.api('POST', '/v1/invitations', { body: mixed }),
    };
    for (const [code, r] of Object.entries(answers)) {
      assert.equal(r.status, 409, r.text);
      assert.equal(r.body.error.code, code);
    }
    for (const t of [sso, mixed]) assert.equal(await countAuditEvents(h.db, { tenantId: t.tenantId, action: 'invitation.created' }), 0);
    assert.equal(
      h.sink.list().filter((m) => m.subject.startsWith('You are invited') && m.to.some((a) => a.includes(sso.accountId) || a.includes(mixed.accountId))).length,
      0,
    );
  });
});

describe('an invitation is no way around a recovery', () => {
  it('an account with a password, or with an open invitation, is refused', async () => {
    const tenantId = await seedTenant(h, 'local');
    const withPassword = await seedAccount(h, tenantId, { password: OLD_PASSWORD });
    const r = await h.api('POST', '/v1/invitations', { body: { tenantId, accountId: withPassword } });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.error.code, 'already_registered');
    const accountId = await seedAccount(h, tenantId, { password: null });
    const first = await invite(h, tenantId, accountId);
    const second = await h.api('POST', '/v1/invitations', { body: { tenantId, accountId } });
    assert.equal(second.status, 409, second.text);
    assert.equal(second.body.error.code, 'invitation_open');
    assert.equal(second.body.error.details.id, first.id);
  });
});

describe('tenant scope', () => {
  it("another tenant's admin gets 404 for the invitation, as for a missing one, and cannot invite into it", async () => {
    const { tenantId, accountId } = await newcomer();
    const inv = await invite(h, tenantId, accountId);
    const other = await seedTenant(h, 'local');
    const outsider = await seedPrincipal(h, ['admin'], [other]);
    const read = await h.api('GET', `/v1/invitations/${inv.id}`, { key: outsider.key });
    const missing = await h.api('GET', '/v1/invitations/inv_AAAAAAAAAAAAAAAA', { key: outsider.key });
    assert.equal(read.status, 404, read.text);
    assert.deepEqual(read.body, missing.body);
    const create = await h.api('POST', '/v1/invitations', { key: outsider.key, body: { tenantId, accountId } });
    assert.equal(create.status, 403, create.text);
    const auditor = await seedPrincipal(h, ['auditor'], [tenantId]);
    const seen = await h.api('GET', `/v1/invitations/${inv.id}`, { key: auditor.key });
    assert.equal(seen.status, 200, seen.text);
    assert.equal(seen.body.state, 'pending');
    assert.ok(!seen.text.includes(inv.token));
    const asAgent = await h.api('POST', '/v1/invitations', { key: (await seedPrincipal(h, ['agent'], [tenantId])).key, body: { tenantId, accountId } });
    assert.equal(asAgent.status, 403, 'only an admin invites');
  });
});

describe('a TOTP code works once', () => {
  it('a code reused within its window is refused at sign-in (the confirming code too); a later code signs in', async () => {
    const { tenantId, accountId } = await newcomer();
    const inv = await invite(h, tenantId, accountId);
    const secret = await enrol(h, tenantId, inv.token);
    const confirming = codeIn(secret);
    assert.equal((await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: confirming } })).status, 200);
    assert.equal((await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: PASSWORD } })).status, 200);
    await until('registered', async () => (await invitationState(h, inv.id)) === 'registered', 30_000);

    const replayed = await signIn(tenantId, accountId, confirming);
    assert.equal(replayed.status, 401, replayed.text);
    const next = codeIn(secret, 1);
    assert.equal((await signIn(tenantId, accountId, next)).status, 201);
    const again = await signIn(tenantId, accountId, next);
    assert.equal(again.status, 401, again.text);
    assert.deepEqual(again.body, replayed.body, 'one answer for every refusal');
    const reasons = (await auditEvents(h.db, { tenantId, action: 'directory.sign_in_refused' })).map((e) => e.details.reason);
    assert.deepEqual(reasons, ['totp_reused', 'totp_reused']);
  });

  it('codes are guessed at most 5 times per 15 minutes per invitation: the 6th try is 429, even with the right code', async () => {
    const { tenantId, accountId } = await newcomer();
    const inv = await invite(h, tenantId, accountId);
    const secret = await enrol(h, tenantId, inv.token);
    const right = codeIn(secret);
    const wrong = (i: number) => {
      const c = String(100000 + i);
      return c === right || c === codeIn(secret, -1) || c === codeIn(secret, 1) ? String(200000 + i) : c;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: wrong(i) } })).status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 400]);
    const limited = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: right } });
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.headers.get('retry-after'), '900');
  });
});

describe('an authenticator never verifies the MFA reset that replaces it', () => {
  it('even a message attested as a TOTP pass is refused by the MFA reset workflow itself, and Tier 3 stays open', async () => {
    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const { workflow_id: workflowId } = await recoveryRow(h.db, id);
    const handle = h.client.workflow.getHandle(workflowId);
    await until('verifying', async () => (await handle.query(statusQuery)).state === 'verifying');
    // What an API that forgot its own check would record: the workflow must not rely on it.
    const attestationId = await createAttestation(h.db, attestationKeys(h.config.tokenKeys), {
      kind: 'recovery.verify',
      tenantId,
      caseId: id,
      workflowId,
      facts: {
        principal: { principalId: agent.id, personId: agent.id, roles: ['agent'], tenantScope: [tenantId], account: null },
        message: { tier: 3, actor: `principal:${agent.id}`, channel: 'totp', passed: true, reused: false },
      },
    });
    await assert.rejects(handle.executeUpdate(submitVerificationUpdate, { args: [{ attestationId, tier: 3 }] }), (err: Error) =>
      JSON.stringify(err.cause ?? err).includes('channel_not_allowed'),
    );
    const status = await handle.query(statusQuery);
    assert.deepEqual(status.tiers.passed, []);
    assert.equal(status.state, 'verifying');
  });
});
