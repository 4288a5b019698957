// Only an admin of the response's tenant reverses or acknowledges a risk response: the ingestion
// key that reported the event, an agent, or another tenant's admin cannot, and an Update sent
// straight to Temporal (no attestation) is refused. An admin's reversal releases a hold, audited.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { riskDecideUpdate } from '../../contracts/risk-response';
import { getResponse } from '../../store/risk-responses';
import { auditActionsOf } from '../../testkit/inspect-audit';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedAccount, seedIngestion, seedPrincipal, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
let tenantId: string;
let ingest: string;
before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
  ingest = (await seedIngestion(h, [tenantId])).key;
});
after(async () => {
  await h?.close();
});

let n = 0;
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

/** A held enrolment: a known login, then one from an unfamiliar context, then an enrolment 30 s later. */
async function heldEnrolment(): Promise<string> {
  const accountId = await seedAccount(h, tenantId);
  const base = { tenantId, accountId, outcome: 'success', type: 'login' };
  const events = [
    { ...base, eventId: `rv-${++n}`, at: ago(3600), ip: '203.0.113.24', deviceId: 'laptop-1', geo: { country: 'GB', asn: 2856 } },
    { ...base, eventId: `rv-${++n}`, at: ago(60), ip: '45.160.1.5', deviceId: 'phone-x', geo: { country: 'BR', asn: 28573 } },
    { eventId: `rv-${++n}`, type: 'mfa_enroll', tenantId, accountId, at: ago(30), ip: '45.160.1.5' },
  ];
  const r = await h.api('POST', '/v1/events', { key: ingest, body: { events } });
  assert.deepEqual(r.body.results[2].actions, ['enrolment_held'], r.text);
  const id = r.body.results[2].responseIds[0] as string;
  // The run is waiting for an admin once the hold is recorded as applied.
  await until('hold applied', async () => (await getResponse(h.db, id))?.outcome);
  return id;
}

const reverse = (id: string, key: string) => h.api('POST', `/v1/risk-responses/${id}/reverse`, { key, body: { reason: 'owner confirmed the new phone' } });

describe('who may reverse a risk response', () => {
  it('the ingestion key that reported the event cannot (403)', async () => {
    const id = await heldEnrolment();
    const r = await reverse(id, ingest);
    assert.equal(r.status, 403, r.text);
    assert.equal((await getResponse(h.db, id))!.state, 'held');
  });

  it('an agent of the tenant cannot, nor read it (403)', async () => {
    const id = await heldEnrolment();
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    assert.equal((await reverse(id, agent.key)).status, 403);
    assert.equal((await h.api('GET', `/v1/risk-responses/${id}`, { key: agent.key })).status, 403, 'nor read it');
    assert.equal((await getResponse(h.db, id))!.state, 'held');
  });

  it("another tenant's admin cannot, and learns nothing (404, audited as out of scope)", async () => {
    const id = await heldEnrolment();
    const other = await seedTenant(h, 'local');
    const admin = await seedPrincipal(h, ['admin'], [other]);
    const r = await reverse(id, admin.key);
    assert.equal(r.status, 404, r.text);
    assert.equal((await h.api('GET', `/v1/risk-responses/${id}`, { key: admin.key })).status, 404);
    assert.ok((await auditActionsOf(h.db, id)).includes('access.denied_out_of_scope'), 'the attempt is audited against the response');
    assert.equal((await getResponse(h.db, id))!.state, 'held');
  });

  it('an Update sent straight to Temporal, without the API, is refused', async () => {
    const id = await heldEnrolment();
    const row = (await getResponse(h.db, id))!;
    await assert.rejects(
      h.client.workflow.getHandle(row.workflowId).executeUpdate(riskDecideUpdate, { args: [{ decision: 'reverse', reason: 'forged' }] }),
      (err: { cause?: { type?: string } }) => err.cause?.type === 'unattested',
    );
    assert.equal((await getResponse(h.db, id))!.state, 'held');
  });

  it("the tenant's admin reverses it: the hold is released, the decision audited, and a second decision refused (409)", async () => {
    const id = await heldEnrolment();
    const admin = await seedPrincipal(h, ['admin'], [tenantId]);
    const r = await reverse(id, admin.key);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.state, 'released');
    assert.deepEqual([r.body.decision.by, r.body.decision.reason], [`principal:${admin.id}`, 'owner confirmed the new phone']);
    const actions = await auditActionsOf(h.db, id);
    assert.ok(actions.includes('risk.response_recorded') && actions.includes('risk.response_reversed'), actions.join(','));
    const again = await h.api('POST', `/v1/risk-responses/${id}/acknowledge`, { key: admin.key, body: { reason: 'late' } });
    assert.equal(again.status, 409, again.text);
    const list = await h.api('GET', `/v1/risk-responses?tenantId=${tenantId}&accountId=${r.body.accountId}`, { key: admin.key });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.items.map((x: { id: string; state: string }) => [x.id, x.state]),
      [[id, 'released']],
    );
  });
});
