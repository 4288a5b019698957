// Issue 11, items 7 and 18: a principal of tenant B holding a recovery or grant id of tenant A
// gets exactly the answer an unknown id gets (status and body), learns nothing of its state, and
// cannot write an unbounded number of events into tenant A's audit chain.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { auditEvents } from '../../testkit/inspect-audit';
import { seedBreakGlassTeam, seedLocalAccount, seedPrincipal, seedTenant, recoveryBody } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** The per-principal, per-tenant, per-hour cap on audited out-of-scope attempts (api/auth.ts). */
const AUDITED_PER_HOUR = 20;

const DECISION = { decision: 'approve', comment: 'looks fine to me' };
const REVIEW = { outcome: 'appropriate', notes: 'fine' };

/** The same call on an id of another tenant and on an id that exists nowhere. */
async function sameAnswer(key: string, path: (id: string) => string, realId: string, unknownId: string, body: unknown) {
  const real = await h.api('POST', path(realId), { key, body });
  const unknown = await h.api('POST', path(unknownId), { key, body });
  assert.equal(real.status, 404, real.text);
  assert.equal(real.status, unknown.status);
  assert.deepEqual(real.body, unknown.body);
}

/** A recovery of tenant A that has ended (cancelled): decisions are closed. */
async function endedRecoveryOfA() {
  const a = await seedLocalAccount(h);
  const created = await h.api('POST', '/v1/recoveries', { key: a.agent.key, body: recoveryBody(a.tenantId, a.accountId) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const c = await h.api('POST', `/v1/recoveries/${id}/cancel`, { key: a.agent.key, body: { reason: 'duplicate' } });
  assert.equal(c.status, 200, c.text);
  return { ...a, id };
}

describe("another tenant's ids answer like unknown ids", () => {
  it("POST /v1/recoveries/<other tenant's id>/approvals answers 404 not_found, as for an unknown id", async () => {
    const a = await endedRecoveryOfA();
    const tenantB = await seedTenant(h, 'local');
    const approverB = await seedPrincipal(h, ['approver'], [tenantB]);
    await sameAnswer(approverB.key, (id) => `/v1/recoveries/${id}/approvals`, a.id, 'rec_AAAAAAAAAAAAAAAA', DECISION);
  });

  it("POST /v1/break-glass/<other tenant's id>/approvals and /review answer 404 not_found, as for an unknown id", async () => {
    const t = await seedBreakGlassTeam(h);
    const r = await h.api('POST', '/v1/break-glass', {
      key: t.requester.key,
      body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-3', durationSeconds: 30 },
    });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    await until('awaiting approval', async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body.state === 'awaiting_approval');
    const other = await seedBreakGlassTeam(h);
    const unknown = 'bg_AAAAAAAAAAAAAAAA';
    await sameAnswer(other.p1.key, (x) => `/v1/break-glass/${x}/approvals`, id, unknown, DECISION);
    await sameAnswer(other.reviewer.key, (x) => `/v1/break-glass/${x}/review`, id, unknown, REVIEW);
    const g = await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key });
    assert.deepEqual(g.body.approvals.received, [], 'and nothing was counted');
  });
});

describe("out-of-scope attempts cannot flood another tenant's audit chain", () => {
  it(`at most ${AUDITED_PER_HOUR} events per principal and tenant in an hour; the rest are counted silently`, async () => {
    const a = await endedRecoveryOfA();
    const tenantB = await seedTenant(h, 'local');
    const intruder = await seedPrincipal(h, ['approver', 'agent'], [tenantB]);
    const attempts = AUDITED_PER_HOUR + 10;
    for (let i = 0; i < attempts; i++) {
      // The answers themselves are the tests above; here only what reaches tenant A's chain.
      await h.api('POST', `/v1/recoveries/${a.id}/approvals`, { key: intruder.key, body: DECISION });
      const g = await h.api('GET', `/v1/recoveries/${a.id}`, { key: intruder.key });
      assert.equal(g.status, 404, g.text);
    }
    const written = (await auditEvents(h.db, { tenantId: a.tenantId })).filter((e) => e.actor === `principal:${intruder.id}`);
    assert.equal(written.length, AUDITED_PER_HOUR, `${written.length} events written by ${attempts * 2} attempts`);
    assert.ok(written.every((e) => e.action === 'access.denied_out_of_scope'));
  });
});
