// POST /v1/risk/assess through the real HTTP API: scores from the ingested history as of `at`,
// without acting; tenant-scoped roles; bad input is a 400 naming the field.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assessAndRecord } from '../../store/risk';
import { startHarness, type Harness } from '../../testkit/engine';
import { holdAssessmentRecords } from '../../testkit/faults';
import { auditEvents } from '../../testkit/inspect-audit';
import { HOUR_MS, LONDON, NEW_YORK, seedAccount, seedHomeLogins, seedIngestion, seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
let tenantId: string;
let ingest: string;
let agent: string;
before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
  ingest = (await seedIngestion(h, [tenantId])).key;
  agent = (await seedPrincipal(h, ['agent'], [tenantId])).key;
});
after(async () => {
  await h?.close();
});

const HOUR = HOUR_MS;
const iso = (ms: number) => new Date(ms).toISOString();
let n = 0;

/** An account with a week of home logins from one device, the last `lastAgoMs` before now. */
function homeUser(lastAgoMs = 2 * HOUR): Promise<string> {
  const now = Date.now();
  return seedHomeLogins(h, ingest, tenantId, [7, 5, 3, 1].map((d) => now - d * 24 * HOUR).concat(now - lastAgoMs));
}

const assess = (body: Record<string, unknown>, key = agent) => h.api('POST', '/v1/risk/assess', { key, body: { tenantId, kind: 'password_reset', ...body } });

describe('POST /v1/risk/assess scores a request without acting', () => {
  it('the usual device in the usual country is low risk: a Tier 3 challenge', async () => {
    const accountId = await homeUser();
    const r = await assess({ accountId, context: { ip: '81.2.69.160', deviceId: 'laptop-1', geo: LONDON } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { score: 0, tier: 'low', response: 'challenge', signals: [] });
  });

  it('a new device in a new country an hour after a home login is refused: impossible travel plus the new context, each with evidence', async () => {
    const accountId = await homeUser(HOUR);
    const r = await assess({ accountId, context: { ip: '198.51.100.7', deviceId: 'phone-x', geo: NEW_YORK } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.tier, 'high');
    assert.equal(r.body.response, 'refuse');
    const codes = r.body.signals.map((s: { code: string }) => s.code).sort();
    assert.deepEqual(codes, ['impossible_travel', 'new_device_new_country']);
    for (const s of r.body.signals) assert.ok(s.weight > 0 && s.evidence.length > 0, JSON.stringify(s));
    assert.equal(
      r.body.score,
      r.body.signals.reduce((a: number, s: { weight: number }) => a + s.weight, 0),
    );
  });

  it('`at` evaluates as of that time using only earlier events: before the first login there is no history to contradict', async () => {
    const accountId = await homeUser(HOUR);
    const early = await assess({ accountId, at: iso(Date.now() - 8 * 24 * HOUR), context: { ip: '198.51.100.7', deviceId: 'phone-x', geo: NEW_YORK } });
    assert.equal(early.status, 200, early.text);
    assert.deepEqual(early.body.signals, []);
    const now = await assess({ accountId, context: { ip: '198.51.100.7', deviceId: 'phone-x', geo: NEW_YORK } });
    assert.notEqual(now.body.tier, 'low');
  });

  it('a week later, the same request from a known device abroad (a flight) is low', async () => {
    const accountId = await homeUser(10 * HOUR);
    const r = await assess({ accountId, context: { ip: '198.51.100.7', deviceId: 'laptop-1', geo: NEW_YORK } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.tier, 'low', JSON.stringify(r.body));
  });
});

describe('who may ask, and bad input', () => {
  it('an agent of another tenant, and an ingestion key, are refused with 403', async () => {
    const accountId = await homeUser();
    const other = await seedTenant(h, 'local');
    const stranger = (await seedPrincipal(h, ['agent'], [other])).key;
    const body = { accountId, context: { ip: '81.2.69.160' } };
    assert.equal((await assess(body, stranger)).status, 403);
    assert.equal((await assess(body, ingest)).status, 403);
    assert.equal((await h.api('POST', '/v1/risk/assess', { key: 'nope', body: { tenantId, kind: 'password_reset', ...body } })).status, 401);
  });

  it('an unknown account is a 404 naming accountId', async () => {
    const r = await assess({ accountId: 'nobody-here', context: { ip: '81.2.69.160' } });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.details.field, 'accountId');
  });

  it('an unknown tenant, asked by a key whose scope covers every tenant, is a 404 naming tenantId', async () => {
    const everywhere = (await seedPrincipal(h, ['agent'], ['*'])).key;
    const r = await h.api('POST', '/v1/risk/assess', {
      key: everywhere,
      body: { tenantId: 'no-such-tenant-xyz', kind: 'password_reset', accountId: 'u-1', context: { ip: '81.2.69.160' } },
    });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'tenant_not_found');
    assert.equal(r.body.error.details.field, 'tenantId');
  });

  it('bad fields are 400s naming the field', async () => {
    const accountId = await homeUser();
    const cases: [Record<string, unknown>, string][] = [
      [{ accountId, context: { ip: 'not-an-ip' } }, 'context.ip'],
      [{ accountId, kind: 'coffee', context: { ip: '81.2.69.160' } }, 'kind'],
      [{ accountId, at: 'yesterday', context: { ip: '81.2.69.160' } }, 'at'],
      [{ accountId, at: iso(Date.now() + 10 * 60_000), context: { ip: '81.2.69.160' } }, 'at'],
      [{ accountId, context: { ip: '81.2.69.160', geo: { country: 'gb' } } }, 'context.geo.country'],
      [{ accountId, context: { ip: '81.2.69.160' }, extra: 1 }, 'extra'],
      [{ context: { ip: '81.2.69.160' } }, 'accountId'],
    ];
    for (const [body, field] of cases) {
      const r = await assess(body);
      assert.equal(r.status, 400, `${field}: ${r.text}`);
      assert.equal(r.body.error.details?.field, field, r.text);
    }
  });
});

describe('reset storm: escalated for unfamiliar contexts, audited at start and end, shown on /metrics', () => {
  it('starts at 6x the baseline, lets a known device in a known country pass, and ends once the rate falls', async () => {
    const storming = await seedTenant(h, 'local');
    const agentKey = (await seedPrincipal(h, ['agent'], [storming])).key;
    const scraper = (await seedPrincipal(h, ['metrics'], ['*'])).key;
    const accounts = await Promise.all([1, 2, 3, 4].map(() => seedAccount(h, storming)));
    const now = Date.now();
    const ask = (accountId: string, at: number, context: Record<string, unknown>) =>
      h.api('POST', '/v1/risk/assess', { key: agentKey, body: { tenantId: storming, accountId, kind: 'password_reset', at: iso(at), context } });
    // A quiet week: one reset a day.
    for (let d = 7; d >= 1; d--) assert.equal((await ask(accounts[d % 4], now - d * 24 * HOUR - 5 * HOUR, { ip: `192.0.2.${d}`, geo: LONDON })).status, 200);
    // The storm, three hours ago: twelve resets in ten minutes from unfamiliar contexts.
    const stormAt = now - 3 * HOUR;
    const answers = [];
    for (let i = 0; i < 12; i++) {
      const r = await ask(accounts[i % 4], stormAt + i * 50_000, { ip: `198.51.100.${i + 1}`, deviceId: `bot-${i}`, geo: NEW_YORK });
      assert.equal(r.status, 200, r.text);
      answers.push(r.body);
    }
    const stormed = answers.filter((a) => a.signals.some((s: { code: string }) => s.code === 'reset_storm'));
    assert.equal(stormed.length, 3, 'the 10th, 11th and 12th of the hour are in the storm');
    for (const a of stormed) assert.notEqual(a.tier, 'low');

    const started = await auditEvents(h.db, { tenantId: storming, action: 'risk.storm_started' });
    assert.equal(started.length, 1);
    assert.equal((started[0].details as { resetsLastHour?: number }).resetsLastHour, 10, 'the 10th reset of the hour started it');
    const metrics = async () => (await h.api('GET', '/metrics', { key: scraper })).text;
    assert.match(await metrics(), new RegExp(`recovery_reset_storm_active\\{tenant="${storming}"\\} 1`));

    // During the storm, a known device in a known country still passes.
    const known = await seedAccount(h, storming);
    await h.api('POST', '/v1/events', {
      key: (await seedIngestion(h, [storming])).key,
      body: {
        events: [
          {
            eventId: `risk-${++n}`,
            type: 'login',
            tenantId: storming,
            accountId: known,
            at: iso(now - 5 * 24 * HOUR),
            ip: '81.2.69.160',
            deviceId: 'laptop-1',
            outcome: 'success',
            geo: LONDON,
          },
        ],
      },
    });
    const pass = await ask(known, stormAt + 12 * 50_000, { ip: '81.2.69.160', deviceId: 'laptop-1', geo: LONDON });
    assert.ok(!pass.body.signals.some((s: { code: string }) => s.code === 'reset_storm'), pass.text);
    assert.equal(pass.body.tier, 'low');

    // Now, hours later, the rate is back to normal: the storm ends, audited, and the gauge drops.
    const quiet = await ask(accounts[0], now, { ip: '192.0.2.99', geo: LONDON });
    assert.ok(!quiet.body.signals.some((s: { code: string }) => s.code === 'reset_storm'));
    const ended = await auditEvents(h.db, { tenantId: storming, action: 'risk.storm_ended' });
    assert.equal(ended.length, 1);
    // Every request during the storm raised its peak: the known device's was the 13th of that hour.
    assert.equal((ended[0].details as { peakPerHour?: number }).peakPerHour, 13, JSON.stringify(ended[0].details));
    assert.match(await metrics(), new RegExp(`recovery_reset_storm_active\\{tenant="${storming}"\\} 0`));
    assert.match(await metrics(), new RegExp(`recovery_reset_storms_started\\{tenant="${storming}"\\} 1`));
  });
});

describe('an assessment answered before its record is written still counts toward the next one', () => {
  it('the next assessment of the tenant waits for the unwritten record before it reads the rates', async () => {
    const t = await seedTenant(h, 'local');
    const [first, second] = await Promise.all([seedAccount(h, t), seedAccount(h, t)]);
    const at = new Date(Date.now() - 60_000);
    // The rates count requests strictly before `at`: the second comes a second later.
    const input = (accountId: string, ip: string, later = 0) => ({
      tenantId: t,
      accountId,
      kind: 'password_reset',
      at: new Date(at.getTime() + later),
      ip,
      geo: {},
      source: 'assess',
    });
    const noGeo = () => ({});
    let secondDone = false;
    const { two: pending } = await holdAssessmentRecords(h.db, async () => {
      const one = await assessAndRecord(h.db, noGeo, input(first, '192.0.2.10'), { answerFirst: true });
      assert.ok('assessment' in one);
      assert.equal(one.assessment.storm.lastHour, 1, 'the first of the hour');
      const two = assessAndRecord(h.db, noGeo, input(second, '192.0.2.11', 1000), { answerFirst: true }).then((r) => {
        secondDone = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(secondDone, false, 'the second assessment must not read while the first record is unwritten');
      // Wrapped: the transaction (and its lock) ends without waiting for it.
      return { two };
    });
    const secondLastHour = await pending;
    assert.ok('assessment' in secondLastHour);
    assert.equal(secondLastHour.assessment.storm.lastHour, 2, 'the second counts the first, answered before its record was written');
    await secondLastHour.recorded;
  });
});
