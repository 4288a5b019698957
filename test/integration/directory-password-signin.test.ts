// The built-in directory's password sign-in (POST /v1/directory/password-sessions) over real HTTP,
// Temporal and Postgres: a completed reset observed from outside (new password in, old one out,
// earlier sessions ended), one answer for every refusal with the real reason audited, the shared
// sign-in rate limits, and the session's bounded lifetime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAccount } from '../../store/directory';
import { sessionIsLive } from '../../store/sessions';
import { sessionInsertsInFlight, slowSessionInserts, suspendAccount } from '../../testkit/faults';
import { found, recoveryRow, sessionRow, sessionsOf } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { KNOWLEDGE, OLD_PASSWORD, nextIp, recoveryBody, seedAccount, seedLocalAccount, seedTenant, uniq } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';

const NEW_PASSWORD = 'harbour-finch-reads-19-charts';
const TWELVE_HOURS_MS = 12 * 3600 * 1000;

let h: Harness;
before(async () => {
  // Each attempt names its client address, so the per-IP limit bites only where a test means it to.
  h = await startHarness({ env: { TRUST_PROXY: 'true' } });
});
after(async () => {
  await h?.close();
});

const signIn = (tenantId: string, accountId: string, password: string, ip = nextIp()) =>
  h.api('POST', '/v1/directory/password-sessions', { key: null, headers: { 'x-forwarded-for': ip }, body: { tenantId, accountId, password } });

const stateOf = async (agentKey: string, id: string) => (await h.api('GET', `/v1/recoveries/${id}`, { key: agentKey })).body.state;

/** A password reset through the API up to the emailed link, waiting for its redemption. */
async function resetToLink(agentKey: string, tenantId: string, accountId: string) {
  const created = await h.api('POST', '/v1/recoveries', { key: agentKey, body: recoveryBody(tenantId, accountId) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agentKey, body: { tier: 1, answers: KNOWLEDGE } });
  assert.equal(v.body.passed, true, v.text);
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(`${accountId}@${tenantId}.test`));
  await until('awaiting completion', async () => (await stateOf(agentKey, id)) === 'awaiting_completion');
  return { id, token: tokenFrom(mail) };
}

/** Uses the link with the new password and waits for the recovery to end completed. */
async function completeReset(agentKey: string, tenantId: string, link: { id: string; token: string }, newPassword: string) {
  const redeemed = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: link.token, tenantId, newPassword } });
  assert.equal(redeemed.status, 200, redeemed.text);
  await until('completion', async () => (await stateOf(agentKey, link.id)) === 'completed', 30_000);
  await until('end recorded', async () => (await recoveryRow(h.db, link.id)).ended_at !== null);
}

describe('a completed reset is observable over HTTP', () => {
  it('the old password signs in before the reset; after it the new one does, the old one fails, and the earlier session is ended', async () => {
    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const before = await signIn(tenantId, accountId, OLD_PASSWORD);
    assert.equal(before.status, 201, before.text);
    const earlier = before.body.sessionId as string;
    const lifetime = new Date(before.body.expiresAt as string).getTime() - Date.now();
    assert.ok(lifetime > TWELVE_HOURS_MS - 60_000 && lifetime <= TWELVE_HOURS_MS, `a 12 h session (${lifetime} ms left)`);
    assert.equal(await sessionIsLive(h.db, earlier), true);

    await completeReset(agent.key, tenantId, await resetToLink(agent.key, tenantId, accountId), NEW_PASSWORD);

    const ended = await sessionRow(h.db, earlier);
    assert.ok(ended.revoked_at, 'the session opened before the reset is revoked by it');
    assert.equal(await sessionIsLive(h.db, earlier), false);
    const fresh = await signIn(tenantId, accountId, NEW_PASSWORD);
    assert.equal(fresh.status, 201, fresh.text);
    assert.equal(await sessionIsLive(h.db, fresh.body.sessionId), true);
    const old = await signIn(tenantId, accountId, OLD_PASSWORD);
    assert.equal(old.status, 401, old.text);
    assert.equal(old.body.error.code, 'invalid_credentials');

    const events = await auditEvents(h.db, { tenantId });
    const signIns = events.filter((e) => e.action.startsWith('directory.'));
    assert.deepEqual(
      signIns.map((e) => [e.action, e.details.sessionId ?? e.details.reason]),
      [
        ['directory.signed_in', earlier],
        ['directory.signed_in', fresh.body.sessionId],
        ['directory.sign_in_refused', 'wrong_password'],
      ],
    );
    const logged = JSON.stringify(events);
    for (const pw of [OLD_PASSWORD, NEW_PASSWORD]) assert.ok(!logged.includes(pw), 'no password in the audit log');
    const verdict = await h.api('GET', `/v1/audit/verify?tenantId=${tenantId}`);
    assert.equal(verdict.body.valid, true, verdict.text);
  });
});

describe('a sign-in racing the reset', () => {
  it('sign-ins with the old password still inserting when the link is used leave no live session', async () => {
    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const link = await resetToLink(agent.key, tenantId, accountId);
    // Each insert dawdles, as a loaded database would: the new password lands inside the window.
    const undo = await slowSessionInserts(h, 3);
    let answers;
    try {
      const burst = Array.from({ length: 3 }, () => signIn(tenantId, accountId, OLD_PASSWORD));
      await until('sign-ins inserting', async () => (await sessionInsertsInFlight(h.db)) > 0);
      await completeReset(agent.key, tenantId, link, NEW_PASSWORD);
      answers = await Promise.all(burst);
    } finally {
      await undo();
    }
    for (const a of answers) assert.ok(a.status === 201 || a.status === 401, a.text);
    assert.ok(
      answers.some((a) => a.status === 201),
      'the race was run: a sign-in verified the old password before the reset',
    );
    const acct = found(await findAccount(h.db, tenantId, accountId), accountId);
    const live = [];
    for (const s of await sessionsOf(h.db, acct.id)) if (await sessionIsLive(h.db, s.id)) live.push(s.id);
    assert.deepEqual(live, [], 'no session opened with the old password outlives the reset');
    assert.equal((await signIn(tenantId, accountId, OLD_PASSWORD)).status, 401);
  });
});

describe('every refusal answers the same', () => {
  it('a wrong password, an unknown account, an SSO-managed account and a suspended one: one status and body; the audit says why', async () => {
    const tenantId = await seedTenant(h, 'mixed');
    const local = await seedAccount(h, tenantId);
    const sso = await seedAccount(h, tenantId, { authMethod: 'sso' });
    const suspended = await seedAccount(h, tenantId);
    await suspendAccount(h.db, tenantId, suspended);
    const unknown = uniq('nobody');

    const answers = {
      wrong_password: await signIn(tenantId, local, 'not-the-password-at-all'),
      unknown_account: await signIn(tenantId, unknown, OLD_PASSWORD),
      sso_managed: await signIn(tenantId, sso, OLD_PASSWORD),
      account_inactive: await signIn(tenantId, suspended, OLD_PASSWORD),
    };
    const shapes = Object.values(answers).map((r) => ({ status: r.status, body: r.body }));
    assert.equal(shapes[0].status, 401, answers.wrong_password.text);
    assert.deepEqual(shapes[0].body.error, {
      code: 'invalid_credentials',
      message: 'password: not valid for this account now',
      details: { field: 'password' },
    });
    for (const s of shapes) assert.deepEqual(s, shapes[0]);

    const refused = await auditEvents(h.db, { tenantId, action: 'directory.sign_in_refused' });
    assert.deepEqual(
      Object.fromEntries(refused.map((e) => [e.target, e.details.reason])),
      Object.fromEntries(
        Object.entries({ wrong_password: local, unknown_account: unknown, sso_managed: sso, account_inactive: suspended }).map(([r, a]) => [`account:${a}`, r]),
      ),
    );
    for (const a of [local, sso, suspended]) {
      const row = found(await findAccount(h.db, tenantId, a), a);
      assert.deepEqual(await sessionsOf(h.db, row.id), [], `no session for ${a}`);
    }
  });
});

describe('the sign-in limits are the credential sign-in limits', () => {
  it('per account, shared with the credential sign-in: the 11th attempt gets 429 even with the right password, and opens nothing', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const body = { tenantId, accountId, credential: `bgc_t1.${'A'.repeat(43)}` };
      statuses.push((await h.api('POST', '/v1/directory/sessions', { key: null, headers: { 'x-forwarded-for': nextIp() }, body })).status);
    }
    for (let i = 0; i < 5; i++) statuses.push((await signIn(tenantId, accountId, `wrong-${i}`)).status);
    assert.deepEqual(statuses, Array(10).fill(401));
    const limited = await signIn(tenantId, accountId, OLD_PASSWORD);
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.equal(limited.headers.get('retry-after'), '600');
    assert.equal((await auditEvents(h.db, { tenantId, action: 'directory.signed_in' })).length, 0);
  });

  it('per IP: the 21st attempt from one address gets 429 whatever account it names; another address is not limited', async () => {
    const tenantId = await seedTenant(h, 'local');
    const ip = nextIp();
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await signIn(tenantId, uniq('acct'), OLD_PASSWORD, ip)).status);
    assert.deepEqual(statuses, [...Array(20).fill(401), 429]);
    assert.equal((await signIn(tenantId, uniq('acct'), OLD_PASSWORD)).status, 401);
  });
});

describe('bad input', () => {
  it('is refused with 400 naming the field, and nothing is audited', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const cases: [Record<string, unknown>, string][] = [
      [{ tenantId, accountId: `${accountId}@example.test`, password: OLD_PASSWORD }, 'accountId'],
      [{ tenantId, accountId }, 'password'],
      [{ tenantId, accountId, password: '' }, 'password'],
      [{ tenantId, accountId, password: 'x'.repeat(1025) }, 'password'],
      [{ tenantId, accountId, password: OLD_PASSWORD, credential: 'bgc_x' }, 'credential'],
    ];
    for (const [body, field] of cases) {
      const r = await h.api('POST', '/v1/directory/password-sessions', { key: null, body });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.details.field, field, r.text);
    }
    assert.equal((await auditEvents(h.db, { tenantId })).filter((e) => e.action.startsWith('directory.')).length, 0);
    assert.equal((await signIn(tenantId, accountId, OLD_PASSWORD)).status, 201, 'the account still signs in');
  });
});
