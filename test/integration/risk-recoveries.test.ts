// Every recovery runs the same risk assessment as POST /v1/risk/assess, as of its request time,
// records it once as evidence, and follows its tier: low -> Tier 3 challenge, medium -> approvals
// and a 48 h wait, high -> refused and routed to security.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { riskAssessmentsOf } from '../../testkit/inspect';
import { HOUR_MS, LONDON, NEW_YORK, recoveryBody, seedHomeLogins, seedIngestion, seedPrincipal, seedTenant } from '../../testkit/seed';

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

/** An account whose history is home logins from one laptop, the last `lastAgoMs` ago. */
function homeUser(lastAgoMs: number): Promise<string> {
  const now = Date.now();
  return seedHomeLogins(h, ingest, tenantId, [9, 6, 3].map((d) => now - d * 24 * HOUR - lastAgoMs).concat(now - lastAgoMs));
}

async function start(accountId: string, context: Record<string, unknown>) {
  const r = await h.api('POST', '/v1/recoveries', { key: agent, body: recoveryBody(tenantId, accountId, { context }) });
  // A refusal is answered at once (200); anything else is accepted (202).
  assert.ok([200, 202].includes(r.status), r.text);
  return r.body;
}

describe('a recovery follows the tier of its assessment and keeps it as evidence', () => {
  it('low: the usual laptop at home gets the standard challenge, no approval', async () => {
    const accountId = await homeUser(2 * HOUR);
    const r = await start(accountId, { ip: '81.2.69.160', deviceId: 'laptop-1', geo: LONDON });
    assert.equal(r.riskTier, 'low', JSON.stringify(r));
    assert.equal(r.status, 'verifying');
    const rows = await riskAssessmentsOf(h.db, tenantId, accountId);
    assert.deepEqual(
      rows.map((x) => [x.source, x.tier, x.score]),
      [[`recovery:${r.id}`, 'low', 0]],
    );
  });

  it('medium: a new device from a new country (last login days ago) needs two approvals (the elevated row, with its 48 h wait)', async () => {
    const accountId = await homeUser(4 * 24 * HOUR);
    const r = await start(accountId, { ip: '198.51.100.7', deviceId: 'phone-x', geo: NEW_YORK });
    assert.equal(r.riskTier, 'medium', JSON.stringify(r));
    const status = await h.api('GET', `/v1/recoveries/${r.id}`, { key: agent });
    assert.equal(status.body.approvals.required, 2, status.text);
    const rows = await riskAssessmentsOf(h.db, tenantId, accountId);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      (rows[0].signals as { code: string }[]).map((s) => s.code),
      ['new_device_new_country'],
    );
  });

  it('high: New York an hour after London from a new device is refused, routed to security, and the evidence bundle shows the signals', async () => {
    const accountId = await homeUser(HOUR);
    const r = await start(accountId, { ip: '198.51.100.8', deviceId: 'phone-y', geo: NEW_YORK });
    assert.equal(r.status, 'refused', JSON.stringify(r));
    assert.equal(r.route, 'security');
    const rows = await riskAssessmentsOf(h.db, tenantId, accountId);
    assert.deepEqual(
      rows.map((x) => [x.source, x.tier]),
      [[`recovery:${r.id}`, 'high']],
    );
    const auditor = (await seedPrincipal(h, ['auditor'], [tenantId])).key;
    const ev = await h.api('GET', `/v1/recoveries/${r.id}/evidence`, { key: auditor });
    assert.equal(ev.status, 200, ev.text);
    assert.equal(ev.body.risk.tier, 'high');
    assert.ok(ev.body.risk.score >= 60, JSON.stringify(ev.body.risk));
    const codes = ev.body.risk.signals.map((s: { code: string }) => s.code).sort();
    assert.deepEqual(codes, ['impossible_travel', 'new_device_new_country']);
    for (const s of ev.body.risk.signals) assert.ok(s.weight > 0 && typeof s.evidence === 'string' && !s.evidence.includes('198.51.100'), JSON.stringify(s));
  });
});
