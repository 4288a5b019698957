// Issue 15: people read decoded histories in the Temporal Web UI, which cannot send an API key to
// the codec. They sign in at /signin (an emailed single-use link, or outside production the key
// pasted once) and the codec accepts the session cookie; only `*`-scoped auditors and admins
// decode, every decode is counted by principal, bulk decoding is refused past a per-minute budget.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedPrincipal, seedTenant } from '../../testkit/seed';
import { postForm, sessionCookie, signInWithKey, signinLinkToken } from '../../testkit/console';
import { expireConsoleSessions } from '../../testkit/faults';

let h: Harness;
const UI_ORIGIN = 'http://localhost:8233';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const DECODE_BUDGET = 40;
let sealed: { payloads: unknown[] };

before(async () => {
  h = await startHarness({ env: { CODEC_DECODE_PAYLOADS_PER_MINUTE: String(DECODE_BUDGET) } });
  const enc = await h.api('POST', '/codec/encode', {
    body: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('{"recoveryId":"rec_x"}') }] },
  });
  assert.equal(enc.status, 200, enc.text);
  sealed = enc.body;
});
after(async () => {
  await h?.close();
});

const decodeWith = (headers: Record<string, string>, body: unknown = sealed) => h.api('POST', '/codec/decode', { key: null, body, headers });
const plain = (r: { body: { payloads: { data: string }[] } }) => Buffer.from(r.body.payloads[0].data, 'base64').toString('utf8');

describe('sign-in by emailed link', () => {
  it('mails a single-use link to the confirmed address; a GET shows a button, the POST signs in with a bounded HttpOnly SameSite=Lax cookie', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const asked = await postForm(h.baseUrl, '/signin/email', { email: auditor.email });
    assert.equal(asked.status, 303);
    assert.equal(asked.headers.get('location'), '/signin?m=sent');
    const token = await signinLinkToken(h.sink, auditor.email, auditor.id);

    const shown = await fetch(`${h.baseUrl}/signin/link?token=${encodeURIComponent(token)}`);
    assert.equal(shown.status, 200);
    assert.equal(sessionCookie(shown), null, 'a GET signs nobody in');
    assert.ok(!(await shown.text()).includes('<script'), 'the page needs no script');

    const used = await postForm(h.baseUrl, '/signin/link', { token });
    assert.equal(used.status, 303);
    assert.equal(used.headers.get('location'), '/signin?m=signedin');
    const cookie = sessionCookie(used);
    assert.ok(cookie, 'a session cookie is set');
    assert.match(cookie.attributes, /HttpOnly/);
    assert.match(cookie.attributes, /SameSite=Lax/);
    assert.match(cookie.attributes, /Max-Age=28800/, 'eight hours by default');
    assert.doesNotMatch(cookie.attributes, /Secure/, 'the engine is served over http here');

    const r = await decodeWith({ cookie: cookie.pair });
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(plain(r)).recoveryId, 'rec_x');

    const again = await postForm(h.baseUrl, '/signin/link', { token });
    assert.equal(again.headers.get('location'), '/signin?m=invalid', 'the link works once');
    assert.equal(sessionCookie(again), null);
  });

  it('answers an unknown address exactly like a known one, and mails nothing', async () => {
    const before = h.sink.list().length;
    const r = await postForm(h.baseUrl, '/signin/email', { email: 'nobody-here@staff.test' });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/signin?m=sent');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(h.sink.list().length, before);
  });

  it('mails no link to a principal that may not decode', async () => {
    const agent = await seedPrincipal(h, ['agent'], ['*']);
    await postForm(h.baseUrl, '/signin/email', { email: agent.email });
    await assert.rejects(signinLinkToken(h.sink, agent.email, agent.id, 1500), /no matching message/);
  });

  it('refuses a form posted from another origin (login CSRF)', async () => {
    const r = await postForm(h.baseUrl, '/signin/email', { email: 'x@staff.test' }, { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
  });
});

describe('the codec accepts a session only while it lives, from a decoding principal with "*" scope', () => {
  it('refuses a request with no credentials', async () => {
    const r = await decodeWith({});
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body.error.code, 'unauthenticated');
  });

  it('refuses an expired cookie', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const cookie = await signInWithKey(h.baseUrl, auditor.key);
    assert.equal((await decodeWith({ cookie })).status, 200);
    await expireConsoleSessions(h.db, auditor.id);
    const r = await decodeWith({ cookie });
    assert.equal(r.status, 401, r.text);
  });

  it('refuses the cookie of an auditor scoped to one tenant: payload keys are not per tenant', async () => {
    const scoped = await seedPrincipal(h, ['auditor'], [await seedTenant(h, 'local')]);
    const cookie = await signInWithKey(h.baseUrl, scoped.key);
    const r = await decodeWith({ cookie });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'scope_too_narrow');
  });

  it('gives no session to a key that may not decode', async () => {
    const agent = await seedPrincipal(h, ['agent'], ['*']);
    const r = await postForm(h.baseUrl, '/signin/key', { apiKey: agent.key });
    assert.equal(r.headers.get('location'), '/signin?m=invalid');
    assert.equal(sessionCookie(r), null);
  });

  it('refuses the cookie from an origin that is not a configured UI origin, and allows credentials to the UI origin only', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const cookie = await signInWithKey(h.baseUrl, auditor.key);
    const evil = await decodeWith({ cookie, origin: 'http://localhost:9999' });
    assert.equal(evil.status, 403, evil.text);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const ui = await decodeWith({ cookie, origin: UI_ORIGIN });
    assert.equal(ui.status, 200, ui.text);
    assert.equal(ui.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.equal(ui.headers.get('access-control-allow-credentials'), 'true');
  });

  it('disabling the principal ends its sessions: the cookie is refused', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const cookie = await signInWithKey(h.baseUrl, auditor.key);
    assert.equal((await h.api('POST', `/v1/admin/principals/${auditor.id}/disable`, { body: { reason: 'left the team' } })).status, 200);
    assert.equal((await decodeWith({ cookie })).status, 401);
  });

  it('refuses a forged cookie value', async () => {
    const r = await decodeWith({ cookie: `recovery_session=cs_${'A'.repeat(43)}` });
    assert.equal(r.status, 401, r.text);
  });

  it('signing out ends the session: the same cookie is refused', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const cookie = await signInWithKey(h.baseUrl, auditor.key);
    const out = await postForm(h.baseUrl, '/signout', {}, { cookie });
    assert.equal(out.status, 303);
    assert.match(out.headers.getSetCookie().join('\n'), /recovery_session=; .*Max-Age=0/);
    assert.equal((await decodeWith({ cookie })).status, 401);
  });

  it("an admin revokes a principal's sessions over the API, audited; the cookie is refused at once", async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const cookie = await signInWithKey(h.baseUrl, auditor.key);
    const page = await fetch(`${h.baseUrl}/signin`, { headers: { cookie } });
    assert.match(await page.text(), new RegExp(`Signed in as .*${auditor.id}`));
    const r = await h.api('POST', `/v1/admin/principals/${auditor.id}/console-sessions/revoke`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.revoked.length, 1);
    assert.equal((await decodeWith({ cookie })).status, 401);
    const audit = await h.api('GET', '/v1/audit?tenantId=_system', { key: auditor.key });
    assert.equal(audit.status, 200, audit.text);
    const actions = (audit.body.events as { action: string; target: string }[]).filter((e) => e.target === `principal:${auditor.id}`).map((e) => e.action);
    assert.ok(actions.includes('console.signed_in') && actions.includes('console.sessions_revoked'), actions.join(', '));
  });
});

describe('decoding is counted and bounded per principal', () => {
  it('counts every decoded payload on /metrics by principal', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const cookie = await signInWithKey(h.baseUrl, auditor.key);
    for (let i = 0; i < 3; i++) assert.equal((await decodeWith({ cookie })).status, 200);
    const m = await h.api('GET', '/metrics');
    assert.match(m.text, new RegExp(`recovery_codec_decoded_payloads_total\\{principal="${auditor.id}",via="cookie"\\} 3`));
  });

  it(`refuses bulk decoding past ${DECODE_BUDGET} payloads a minute with 429 and Retry-After`, async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const bulk = { payloads: Array.from({ length: DECODE_BUDGET }, () => sealed.payloads[0]) };
    assert.equal((await h.api('POST', '/codec/decode', { key: auditor.key, body: bulk })).status, 200);
    const r = await h.api('POST', '/codec/decode', { key: auditor.key, body: sealed });
    assert.equal(r.status, 429, r.text);
    assert.equal(r.body.error.code, 'codec_rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    const other = await seedPrincipal(h, ['auditor'], ['*']);
    assert.equal((await h.api('POST', '/codec/decode', { key: other.key, body: sealed })).status, 200, 'the budget is per principal');
  });
});
