// Ingestion-time detections (SPEC section 2, risk table) on real Temporal, Postgres and SMTP: a
// session used from a network its account never used is revoked and the security contacts told; a
// same-ASN mobile address change, or a network used before, is not; an enrolment right after an
// unfamiliar login is held; a login with a breached password forces a change. Each event's answer
// says what was done.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAccount } from '../../store/directory';
import { getResponse } from '../../store/risk-responses';
import { openSession, sessionIsLive } from '../../store/sessions';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedAccount, seedIngestion, seedPrincipal, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
let tenantId: string;
let key: string;
before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
  key = (await seedIngestion(h, [tenantId])).key;
});
after(async () => {
  await h?.close();
});

let n = 0;
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
const evt = (type: string, accountId: string, over: Record<string, unknown>) => ({ eventId: `rd-${++n}`, type, tenantId, accountId, ...over });
const login = (accountId: string, over: Record<string, unknown> = {}) =>
  evt('login', accountId, { at: ago(3600), ip: '203.0.113.24', deviceId: 'laptop-1', outcome: 'success', geo: { country: 'GB', asn: 2856 }, ...over });
const post = async (events: unknown[]) => {
  const r = await h.api('POST', '/v1/events', { key, body: { events } });
  assert.equal(r.status, 200, r.text);
  return r.body.results as { status: string; actions?: string[]; responseIds?: string[] }[];
};
const stateOf = async (id: string) => (await getResponse(h.db, id))?.state;
const DAY_S = 86_400;
/** Weeks of logins from home: an account old enough to have shown its usual networks. */
const homeLogins = (accountId: string, over: Record<string, unknown> = {}) => [20, 13, 9].map((d) => login(accountId, { at: ago(d * DAY_S), ...over }));

describe('a session used from another network than its login (hijack)', () => {
  it('from a network the account never used: revokes the account sessions through its directory and emails the security contacts', async () => {
    const accountId = await seedAccount(h, tenantId);
    const session = await openSession(h.db, (await findAccount(h.db, tenantId, accountId))!.id);
    const results = await post([
      ...homeLogins(accountId),
      login(accountId, { at: ago(600), sessionId: 'sess-a' }),
      evt('session_use', accountId, { at: ago(30), ip: '198.51.100.9', sessionId: 'sess-a', geo: { country: 'GB', asn: 64512 } }),
    ]);
    assert.deepEqual(results[3].actions, []);
    assert.deepEqual(results[4].actions, ['session_revoked']);
    const id = results[4].responseIds![0];
    await until('sessions revoked', async () => (await stateOf(id)) === 'applied');
    assert.equal(await sessionIsLive(h.db, session), false, 'the session no longer works');
    const mail = await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.subject.includes(accountId));
    assert.match(mail.subject, /\[security\] Automatic revoke sessions/);
  });

  it('a mobile user whose address changes within the same ASN is not a hijack', async () => {
    const accountId = await seedAccount(h, tenantId);
    const session = await openSession(h.db, (await findAccount(h.db, tenantId, accountId))!.id);
    const results = await post([
      login(accountId, { at: ago(600), ip: '100.64.1.10', sessionId: 'sess-m', geo: { asn: 20057 } }),
      evt('session_use', accountId, { at: ago(30), ip: '172.58.44.2', sessionId: 'sess-m', geo: { asn: 20057 } }),
    ]);
    assert.deepEqual(results[1].actions, []);
    assert.equal(await sessionIsLive(h.db, session), true);
  });

  it('from a network the account has used before (a phone on its carrier) is not a hijack', async () => {
    const accountId = await seedAccount(h, tenantId);
    const carrier = { ip: '172.58.44.2', deviceId: 'phone-1', geo: { country: 'GB', asn: 12576 } };
    const results = await post([
      ...homeLogins(accountId),
      login(accountId, { at: ago(5 * DAY_S), ...carrier }),
      login(accountId, { at: ago(600), sessionId: 'sess-c' }),
      evt('session_use', accountId, { at: ago(30), ip: '172.58.9.9', sessionId: 'sess-c', geo: carrier.geo }),
    ]);
    assert.deepEqual(results[5].actions, []);
  });

  it('an account younger than a week on a new network in its own country is not judged a hijack; from another country minutes later it is', async () => {
    const accountId = await seedAccount(h, tenantId);
    const london = { country: 'GB', asn: 2856, lat: 51.5, lon: -0.13 };
    const results = await post([
      login(accountId, { at: ago(3 * DAY_S), geo: london }),
      login(accountId, { at: ago(600), sessionId: 'sess-y', geo: london }),
      evt('session_use', accountId, { at: ago(40), ip: '172.58.9.9', sessionId: 'sess-y', geo: { country: 'GB', asn: 12576, lat: 51.52, lon: -0.1 } }),
      evt('session_use', accountId, { at: ago(30), ip: '45.160.1.5', sessionId: 'sess-y', geo: { country: 'BR', asn: 28573, lat: -23.55, lon: -46.63 } }),
    ]);
    assert.deepEqual(results[2].actions, []);
    assert.deepEqual(results[3].actions, ['session_revoked']);
  });

  it('from a country never seen but reachable in the time since (a trip), it is escalated to a person, not revoked', async () => {
    const accountId = await seedAccount(h, tenantId);
    const session = await openSession(h.db, (await findAccount(h.db, tenantId, accountId))!.id);
    const london = { country: 'GB', asn: 2856, lat: 51.5, lon: -0.13 };
    const results = await post([
      ...homeLogins(accountId, { geo: london }),
      login(accountId, { at: ago(2 * DAY_S), sessionId: 'sess-t', geo: london }),
      evt('session_use', accountId, { at: ago(30), ip: '45.160.1.5', sessionId: 'sess-t', geo: { country: 'BR', asn: 28573, lat: -23.55, lon: -46.63 } }),
    ]);
    assert.deepEqual(results[4].actions, ['escalated']);
    await until('escalated', async () => (await stateOf(results[4].responseIds![0])) === 'escalated');
    assert.equal(await sessionIsLive(h.db, session), true, 'nothing revoked');
    await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.subject.includes(accountId));
  });

  it('without ASNs, the same /16 is the same network and another /16 is not', async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([
      ...homeLogins(accountId, { ip: '192.0.2.10', geo: undefined }),
      login(accountId, { at: ago(600), ip: '192.0.2.10', sessionId: 'sess-p', geo: undefined }),
      evt('session_use', accountId, { at: ago(40), ip: '192.0.77.3', sessionId: 'sess-p' }),
      evt('session_use', accountId, { at: ago(30), ip: '198.18.0.3', sessionId: 'sess-p' }),
    ]);
    assert.deepEqual(results[4].actions, []);
    assert.deepEqual(results[5].actions, ['session_revoked']);
  });

  it('on the same mobile network as its login: another browser family is escalated, another device revoked; the same browser, updated, passes', async () => {
    const accountId = await seedAccount(h, tenantId);
    const session = await openSession(h.db, (await findAccount(h.db, tenantId, accountId))!.id);
    const phone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1';
    const carrier = { geo: { country: 'GB', asn: 12576 } };
    const use = (at: number, ip: string, over: Record<string, unknown>) =>
      evt('session_use', accountId, { at: ago(at), ip, sessionId: 'sess-ua', ...carrier, ...over });
    const results = await post([
      ...homeLogins(accountId),
      login(accountId, { at: ago(5 * DAY_S), ip: '172.58.44.2', deviceId: 'phone-1', userAgent: phone, ...carrier }),
      login(accountId, { at: ago(600), ip: '172.58.44.2', deviceId: 'phone-1', userAgent: phone, sessionId: 'sess-ua', ...carrier }),
      use(300, '172.58.9.9', { deviceId: 'phone-1', userAgent: phone.replace('17_5', '18_0') }),
      use(200, '172.58.77.7', { userAgent: 'python-requests/2.31.0' }),
      use(30, '172.58.77.8', { deviceId: 'dev-thief', userAgent: phone }),
    ]);
    assert.deepEqual(results[5].actions, [], 'its owner after a browser update');
    assert.deepEqual(results[6].actions, ['escalated'], 'a script replaying the token from the same carrier: a person decides');
    assert.equal(await sessionIsLive(h.db, session), true, 'an escalation revokes nothing');
    assert.deepEqual(results[7].actions, ['session_revoked'], 'another device presenting the token');
    const admin = (await seedPrincipal(h, ['admin'], [tenantId])).key;
    const escalated = await h.api('GET', `/v1/risk-responses/${results[6].responseIds![0]}`, { key: admin });
    assert.match(JSON.stringify(escalated.body), /another browser or system than the login that issued it \(\?\ python-requests; issued to iPhone OS safari\)/);
    const id = results[7].responseIds![0];
    const revoked = await h.api('GET', `/v1/risk-responses/${id}`, { key: admin });
    assert.equal(revoked.status, 200, revoked.text);
    assert.match(JSON.stringify(revoked.body), /another device than the login that issued it/);
    assert.ok(!revoked.text.includes('dev-thief'), 'the evidence never names the device');
    await until('sessions revoked', async () => (await stateOf(id)) === 'applied');
    assert.equal(await sessionIsLive(h.db, session), false);
  });

  it('a second use of the same hijacked session, and a replayed event, answer the response already made', async () => {
    const accountId = await seedAccount(h, tenantId);
    const use = evt('session_use', accountId, { at: ago(30), ip: '198.51.100.9', sessionId: 'sess-r', geo: { asn: 64512 } });
    const first = await post([...homeLogins(accountId), login(accountId, { at: ago(600), sessionId: 'sess-r' }), use]);
    assert.equal(first[4].responseIds?.length, 1);
    const again = await post([use, evt('session_use', accountId, { at: ago(20), ip: '198.51.100.10', sessionId: 'sess-r', geo: { asn: 64512 } })]);
    assert.equal(again[0].status, 'duplicate');
    assert.deepEqual(again[0].responseIds, first[4].responseIds);
    assert.deepEqual(again[1].responseIds, first[4].responseIds);
  });
});

describe('an MFA enrolment within 60 s of a login from an unfamiliar context', () => {
  const unfamiliar = { ip: '45.160.1.5', deviceId: 'phone-x', geo: { country: 'BR', asn: 28573 } };

  it('is held for review', async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([
      login(accountId),
      login(accountId, { at: ago(70), ...unfamiliar }),
      evt('mfa_enroll', accountId, { at: ago(30), ip: unfamiliar.ip, deviceId: 'phone-x' }),
    ]);
    assert.deepEqual(results[2].actions, ['enrolment_held']);
    assert.equal(await stateOf(results[2].responseIds![0]), 'held', 'held from the answer on');
  });

  it('is not held after a familiar login', async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([login(accountId), login(accountId, { at: ago(70) }), evt('mfa_enroll', accountId, { at: ago(30), ip: '203.0.113.24' })]);
    assert.deepEqual(results[2].actions, []);
  });

  it('is not held more than 60 s after the login', async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([
      login(accountId),
      login(accountId, { at: ago(200), ...unfamiliar }),
      evt('mfa_enroll', accountId, { at: ago(100), ip: unfamiliar.ip }),
    ]);
    assert.deepEqual(results[2].actions, []);
  });

  it("is held up to 15 min after the login when made in that login's session", async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([
      login(accountId),
      login(accountId, { at: ago(700), ...unfamiliar, sessionId: 'sess-e' }),
      evt('mfa_enroll', accountId, { at: ago(100), ip: unfamiliar.ip, sessionId: 'sess-e' }),
      evt('mfa_enroll', accountId, { at: ago(90), ip: unfamiliar.ip, sessionId: 'sess-other' }),
    ]);
    assert.deepEqual(results[2].actions, ['enrolment_held']);
    assert.deepEqual(results[3].actions, [], 'another session, 10 min on: not part of that login');
  });

  it("is not held on a new account's first login (onboarding)", async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([login(accountId, { at: ago(70), ...unfamiliar }), evt('mfa_enroll', accountId, { at: ago(30), ip: unfamiliar.ip })]);
    assert.deepEqual(results[1].actions, []);
  });
});

describe('a login whose password is breached or common', () => {
  it('forces a password change (batch and single login); a failed login forces nothing', async () => {
    const accountId = await seedAccount(h, tenantId);
    const results = await post([login(accountId, { passwordCompromised: true }), login(accountId, { passwordCompromised: true, outcome: 'failure' })]);
    assert.deepEqual(results[0].actions, ['password_change_forced']);
    assert.deepEqual(results[1].actions, []);
    await until('change recorded', async () => (await stateOf(results[0].responseIds![0])) === 'password_change_required');

    const single = await h.api('POST', '/v1/events/login', {
      key,
      body: { tenantId, accountId, ip: '203.0.113.24', success: true, passwordCompromised: true },
    });
    assert.equal(single.status, 202, single.text);
    assert.deepEqual(single.body.actions, ['password_change_forced']);
    assert.equal(single.body.responseIds.length, 1);
  });

  it('is kept with the login: a reset assessed afterwards carries the breached_password signal; without the flag it does not', async () => {
    const agent = (await seedPrincipal(h, ['agent'], [tenantId])).key;
    const assess = async (accountId: string) => {
      const r = await h.api('POST', '/v1/risk/assess', {
        key: agent,
        body: { tenantId, accountId, kind: 'password_reset', context: { ip: '203.0.113.24', deviceId: 'laptop-1', geo: { country: 'GB', asn: 2856 } } },
      });
      assert.equal(r.status, 200, r.text);
      return (r.body.signals as { code: string }[]).map((x) => x.code);
    };
    const flagged = await seedAccount(h, tenantId);
    await post([login(flagged, { at: ago(2 * DAY_S), passwordCompromised: true })]);
    assert.ok((await assess(flagged)).includes('breached_password'));
    const clean = await seedAccount(h, tenantId);
    await post([login(clean, { at: ago(2 * DAY_S) })]);
    assert.ok(!(await assess(clean)).includes('breached_password'));
  });
});
