// POST /v1/events: a batch of behaviour events from the ingestion role, answered per event,
// idempotent on eventId, each event checked on its own (issue 13, events in).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAccount } from '../../store/directory';
import { countIngestedEvents } from '../../store/events';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedAccount, seedIngestion, seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
let tenantId: string;
let accountId: string;
let key: string;
before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
  accountId = await seedAccount(h, tenantId);
  key = (await seedIngestion(h, [tenantId])).key;
});
after(async () => {
  await h?.close();
});

let n = 0;
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
const login = (over: Record<string, unknown> = {}) => ({
  eventId: `evt-${++n}`,
  type: 'login',
  tenantId,
  accountId,
  at: ago(60),
  ip: '203.0.113.24',
  deviceId: 'dev-1',
  outcome: 'success',
  geo: { country: 'GB', asn: 2856 },
  ...over,
});
const post = (events: unknown[], k = key) => h.api('POST', '/v1/events', { key: k, body: { events } });

describe('a batch of events', () => {
  it('records logins, session uses and MFA enrolments, each answered in order; logins feed the login history', async () => {
    const before = await countIngestedEvents(h.db, tenantId);
    const at = ago(30);
    const events = [
      login({ at }),
      { eventId: `evt-${++n}`, type: 'session_use', tenantId, accountId, at: ago(20), ip: '203.0.113.24', sessionId: 'sess-1' },
      { eventId: `evt-${++n}`, type: 'mfa_enroll', tenantId, accountId, at: ago(10), ip: '203.0.113.24', deviceId: 'dev-1' },
    ];
    const r = await post(events);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.results.map((x: { status: string; index: number; eventId: string }) => [x.index, x.eventId, x.status]),
      events.map((e, i) => [i, e.eventId, 'accepted']),
    );
    assert.equal(r.body.accepted, 3);
    assert.equal((await countIngestedEvents(h.db, tenantId)) - before, 3);
    assert.equal((await findAccount(h.db, tenantId, accountId))!.last_login_at?.toISOString(), at, 'the login is the latest one known');
  });

  it('is idempotent on eventId: a replayed batch records nothing twice, and a repeat inside one batch counts once', async () => {
    const e = login();
    const first = await post([e, e]);
    assert.deepEqual(
      first.body.results.map((x: { status: string }) => x.status),
      ['accepted', 'duplicate'],
    );
    const count = await countIngestedEvents(h.db, tenantId);
    const again = await post([e]);
    assert.equal(again.body.results[0].status, 'duplicate');
    assert.equal(again.body.duplicates, 1);
    assert.equal(await countIngestedEvents(h.db, tenantId), count);
  });

  it('one bad event never refuses the others: each gets the error a single request would, naming its field', async () => {
    const other = await seedTenant(h, 'local');
    const good = login();
    const cases: [unknown, number, string, string][] = [
      [login({ at: new Date(Date.now() + 120_000).toISOString() }), 400, 'invalid_field', 'events.0.at'],
      [login({ at: '2024-01-01T00:00:00Z' }), 400, 'invalid_field', 'events.1.at'],
      [login({ outcome: 'maybe' }), 400, 'invalid_field', 'events.2.outcome'],
      [login({ type: 'logout' }), 400, 'invalid_field', 'events.3.type'],
      [login({ color: 'red' }), 400, 'invalid_field', 'events.4.color'],
      [{ ...login(), type: 'session_use', outcome: undefined, deviceId: undefined }, 400, 'invalid_field', 'events.5.sessionId'],
      [login({ tenantId: other }), 403, 'tenant_out_of_scope', 'events.6.tenantId'],
      [login({ accountId: 'u-nobody' }), 404, 'account_not_found', 'events.7.accountId'],
      [login({ ip: '999.1.1.1' }), 400, 'invalid_field', 'events.8.ip'],
    ];
    const r = await post([...cases.map((c) => c[0]), good]);
    assert.equal(r.status, 200, r.text);
    cases.forEach(([, status, code, field], i) => {
      const x = r.body.results[i];
      assert.equal(x.status, 'rejected', JSON.stringify(x));
      assert.deepEqual([x.error.status, x.error.code, x.error.details.field], [status, code, field], JSON.stringify(x));
    });
    assert.equal(r.body.results[cases.length].status, 'accepted', 'the good event went in');
    assert.equal(r.body.rejected, cases.length);
    assert.equal(r.body.accepted, 1);
  });

  it('the batch itself: 1 to 1,000 objects (400 naming events), and the ingestion role only (403)', async () => {
    for (const events of [[], Array.from({ length: 1001 }, () => login()), [42]]) {
      const r = await post(events);
      assert.equal(r.status, 400, r.text.slice(0, 300));
      assert.match(r.body.error.details.field, /^events/);
    }
    const agent = await seedPrincipal(h, ['agent', 'admin'], [tenantId]);
    assert.equal((await post([login()], agent.key)).status, 403);
    const full = await post(Array.from({ length: 1000 }, () => login()));
    assert.equal(full.status, 200, full.text.slice(0, 300));
    assert.equal(full.body.accepted, 1000);
  });
});
