// Issue 11, item 5: login history comes only from the ingestion role (the product's own backend),
// never from an agent's or approver's key; no event from the future; each event names its source.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loginHistoryOf } from '../../store/directory';
import { startHarness, type Harness } from '../../testkit/engine';
import { CONTEXT, recoveryBody, seedAccount, seedLogin, seedPrincipal, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A victim account with no login history yet, and an agent of its tenant. */
async function victim() {
  const tenantId = await seedTenant(h, 'local');
  const accountId = await seedAccount(h, tenantId);
  return { tenantId, accountId, agent: await seedPrincipal(h, ['agent'], [tenantId]) };
}

/** The victim, with a real login (from the seeded context) reported by an ingestion key. */
async function victimWithHistory() {
  const v = await victim();
  const ingest = await seedPrincipal(h, ['ingestion'], [v.tenantId]);
  await seedLogin(h, ingest.key, v.tenantId, v.accountId);
  return { ...v, ingest };
}

const PLANTED = { ip: '198.51.100.66', deviceId: 'attacker-phone', geo: { country: 'ZZ', asn: 65001 } };
const postLogin = (key: string, body: Record<string, unknown>) => h.api('POST', '/v1/events/login', { key, body: { success: true, ...body } });

describe('an agent cannot plant login history', () => {
  it("an agent's login event for the victim's account is refused, and Tier 2 from the planted device still fails", async () => {
    const { tenantId, accountId, agent } = await victim();
    const planted = await postLogin(agent.key, { tenantId, accountId, ...PLANTED });
    const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { context: PLANTED }) });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    await until('verifying', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state === 'verifying');
    const tier2 = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 2 } });
    assert.equal(tier2.status, 200, tier2.text);
    assert.equal(tier2.body.passed, false, `Tier 2 from the planted device must fail: ${tier2.text}`);
    assert.ok((tier2.body.evidence as string[]).includes('device not seen before'), tier2.text);
    assert.equal(planted.status, 403, planted.text);
    assert.equal(planted.body.error.code, 'forbidden');
    const history = await loginHistoryOf(h.db, { tenantId, accountId });
    assert.ok(!history.some((e) => e.device_id === PLANTED.deviceId), 'nothing of the planted event is stored');
  });

  it('approvers, break-glass approvers and admins are refused too (403)', async () => {
    const { tenantId, accountId } = await victimWithHistory();
    for (const roles of [['approver'], ['break_glass_approver'], ['admin'], ['agent', 'approver', 'reviewer', 'auditor']]) {
      const p = await seedPrincipal(h, roles, [tenantId]);
      const r = await postLogin(p.key, { tenantId, accountId, ...PLANTED });
      assert.equal(r.status, 403, `${roles.join('+')}: ${r.text}`);
    }
    const history = await loginHistoryOf(h.db, { tenantId, accountId });
    assert.equal(history.length, 1, 'only the seeded login');
  });
});

describe('the ingestion role records login events', () => {
  it('is a role of its own: a principal cannot hold it with another role (400 naming roles)', async () => {
    const tenantId = await seedTenant(h, 'local');
    for (const roles of [
      ['ingestion', 'agent'],
      ['approver', 'ingestion'],
    ]) {
      const r = await h.api('POST', '/v1/admin/principals', { body: { name: 'mixed', roles, tenantScope: [tenantId] } });
      assert.equal(r.status, 400, `${roles.join('+')}: ${r.text}`);
      assert.equal(r.body.error.details.field, 'roles');
    }
  });

  it('each stored event names the ingesting principal as its source', async () => {
    const { tenantId, accountId, ingest } = await victimWithHistory();
    const r = await postLogin(ingest.key, { tenantId, accountId, ...CONTEXT });
    assert.equal(r.status, 202, r.text);
    const history = await loginHistoryOf(h.db, { tenantId, accountId });
    assert.equal(history.length, 2);
    for (const e of history) assert.equal(e.source, `principal:${ingest.id}`);
  });

  it('stays inside its tenant scope (403 outside it)', async () => {
    const { tenantId, accountId } = await victimWithHistory();
    const other = await seedPrincipal(h, ['ingestion'], [await seedTenant(h, 'local')]);
    const r = await postLogin(other.key, { tenantId, accountId, ...CONTEXT });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'tenant_out_of_scope');
  });

  it('refuses an event from the future (400 naming `at`), allowing 60 s of clock skew', async () => {
    const { tenantId, accountId, ingest } = await victimWithHistory();
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    for (const ahead of [90_000, 3_600_000, 365 * 86_400_000]) {
      const r = await postLogin(ingest.key, { tenantId, accountId, ...CONTEXT, at: at(ahead) });
      assert.equal(r.status, 400, `${ahead} ms ahead: ${r.text}`);
      assert.equal(r.body.error.code, 'invalid_field');
      assert.equal(r.body.error.details.field, 'at');
    }
    assert.equal((await loginHistoryOf(h.db, { tenantId, accountId })).length, 1, 'nothing stored');
    const skewed = await postLogin(ingest.key, { tenantId, accountId, ...CONTEXT, at: at(30_000) });
    assert.equal(skewed.status, 202, `30 s ahead is clock skew: ${skewed.text}`);
    const past = await postLogin(ingest.key, { tenantId, accountId, ...CONTEXT, at: at(-86_400_000) });
    assert.equal(past.status, 202, past.text);
  });
});
