// Idempotency keys of anonymous callers (issue 16, item 5): each key is scoped to what the
// request acts on (the link token, or the tenant and account of a sign-in), never to "everyone
// anonymous", so one owner's key cannot collide with another's; a retry still gets its first
// answer (a redeem's is never replayed, as it may hold a secret), and what is stored never holds
// the token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { idempotencyRows } from '../../testkit/inspect';
import { tokenFrom } from '../../testkit/mail';
import { KNOWLEDGE, recoveryBody, seedAccount, seedLocalAccount, uniq } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A password-reset link of a fresh account: recovery, Tier 1, the emailed link. */
async function resetLink(): Promise<string> {
  const { tenantId, accountId, agent } = await seedLocalAccount(h);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
  assert.equal(created.status, 202, created.text);
  const v = await h.api('POST', `/v1/recoveries/${created.body.id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
  assert.equal(v.status, 200, v.text);
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(`${accountId}@${tenantId}.test`));
  return tokenFrom(mail);
}

const anonymous = (path: string, body: unknown, key: string) => h.api('POST', path, { key: null, body, headers: { 'idempotency-key': key } });

describe('anonymous idempotency keys are scoped to what the request acts on', () => {
  it('two owners redeeming their own links with the same key each get their own answer', async () => {
    const [a, b] = await Promise.all([resetLink(), resetLink()]);
    const key = uniq('shared-key');
    const first = await anonymous('/v1/links/redeem', { token: a, newPassword: 'lantern-otter-carries-42-maps' }, key);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);

    // Before the fix every anonymous caller shared one scope: this was 422 idempotency_key_reused.
    const second = await anonymous('/v1/links/redeem', { token: b, newPassword: 'harbour-kettle-sings-17-tunes' }, key);
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.status, 'accepted');
    assert.equal(second.headers.get('idempotent-replayed'), null, 'the second owner got an answer of its own, not the first one replayed');

    // Redeem answers may hold a secret (an enrolment's TOTP seed), so they are never replayed: a
    // retry of the same request in the same scope is told so, not run again nor refused as reuse.
    for (const [token, newPassword] of [
      [a, 'lantern-otter-carries-42-maps'],
      [b, 'harbour-kettle-sings-17-tunes'],
    ]) {
      const retry = await anonymous('/v1/links/redeem', { token, newPassword }, key);
      assert.equal(retry.status, 409, retry.text);
      assert.equal(retry.body.error.code, 'idempotency_replay_unavailable');
    }

    // Within one link's scope the key still names one request.
    const changed = await anonymous('/v1/links/redeem', { token: a, newPassword: 'another-passphrase-for-a-99' }, key);
    assert.equal(changed.status, 422, changed.text);
    assert.equal(changed.body.error.code, 'idempotency_key_reused');

    // The scope is a keyed hash: neither link token is stored anywhere in the key's row.
    const rows = (await idempotencyRows(h.db)).filter((r) => r.key === key);
    assert.equal(rows.length, 2, 'one row per link');
    for (const row of rows) {
      const stored = JSON.stringify(row);
      for (const token of [a, b, a.split('.')[1], b.split('.')[1]]) assert.ok(!stored.includes(token), `a link token is stored: ${stored}`);
      assert.match(row.scope, /^public:[0-9a-f]{64}$/);
    }
  });

  it('made-up links with the same key each get their own refusal, not a reuse error', async () => {
    const key = uniq('probe-key');
    for (const token of ['made-up-token-aaaaaaaaaaaa', 'made-up-token-bbbbbbbbbbbb']) {
      const r = await anonymous('/v1/links/cancel', { token }, key);
      assert.equal(r.status, 404, r.text);
      assert.equal(r.body.error.code, 'link_invalid');
      assert.equal(r.headers.get('idempotent-replayed'), null);
    }
    // The same caller retrying the same request gets its first answer again.
    const retry = await anonymous('/v1/links/cancel', { token: 'made-up-token-aaaaaaaaaaaa' }, key);
    assert.equal(retry.status, 404, retry.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  });

  it('sign-ins to two accounts with the same key are answered each on its own', async () => {
    const { tenantId, accountId } = await seedLocalAccount(h);
    const other = await seedAccount(h, tenantId);
    const key = uniq('signin-key');
    for (const account of [accountId, other]) {
      const r = await anonymous('/v1/directory/password-sessions', { tenantId, accountId: account, password: 'not-the-password-1234' }, key);
      assert.equal(r.status, 401, r.text);
      assert.equal(r.body.error.code, 'invalid_credentials');
      assert.equal(r.headers.get('idempotent-replayed'), null);
    }
    const retry = await anonymous('/v1/directory/password-sessions', { tenantId, accountId, password: 'not-the-password-1234' }, key);
    assert.equal(retry.status, 401, retry.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  });
});
