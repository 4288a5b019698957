// Break-glass timers at production length on the time-skipping server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { sessionRow } from '../../testkit/inspect';
import { until } from '../../testkit/wait';
import { seedBreakGlassTeam } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.close();
});

async function activeGrant(durationMinutes: number) {
  const { tenantId, bgAccount: bg, requester, p1, p2, reviewer } = await seedBreakGlassTeam(h);
  const r = await h.api('POST', '/v1/break-glass', {
    key: requester.key,
    body: { tenantId, target: { designated: true }, justification: 'outage', ticketRef: 'INC-1', durationMinutes },
  });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  const state = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: requester.key })).body;
  await until('awaiting approval', async () => (await state()).state === 'awaiting_approval');
  for (const p of [p1, p2])
    assert.equal((await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'ok' } })).status, 200);
  await until('active', async () => (await state()).state === 'active');
  const credential = (await h.api('POST', `/v1/break-glass/${id}/credential`, { key: requester.key })).body.credential as string;
  const signIn = () => h.api('POST', '/v1/directory/sessions', { key: null, body: { tenantId, accountId: bg, credential } });
  return { tenantId, id, state, signIn, reviewer, requester };
}

describe('a 15-minute credential', () => {
  it('works at minute 14 and fails at minute 16', async () => {
    const g = await activeGrant(15);
    await h.testEnv!.sleep('14 minutes');
    const at14 = await g.signIn();
    assert.equal(at14.status, 201, at14.text);
    await h.testEnv!.sleep('2 minutes');
    await until('revoked at TTL', async () => (await g.state()).credential.revokedReason === 'expired');
    assert.equal((await g.signIn()).status, 401);
    const s = await sessionRow(h.db, at14.body.sessionId);
    assert.notEqual(s.revoked_at, null, 'the session opened at minute 14 ended with the credential');
  });
});

describe('the post-action review', () => {
  it('is reminded every 4 h, escalated at 24 h, and the grant stays open until it is in', async () => {
    const g = await activeGrant(15);
    await h.testEnv!.sleep('16 minutes');
    await until('awaiting review', async () => (await g.state()).state === 'awaiting_review');
    const reminders = () => h.sink.list().filter((m) => m.subject.startsWith('[review reminder]') && m.text.includes(g.id)).length;
    const escalations = () =>
      h.sink.list().filter((m) => m.subject.startsWith('[security]') && m.subject.includes('24 h without review') && m.text.includes(g.id)).length;
    for (let i = 1; i <= 5; i++) {
      await h.testEnv!.sleep('4 hours');
      await until(`reminder ${i}`, async () => reminders() === i);
      assert.equal(escalations(), 0, `no escalation at ${4 * i} h`);
    }
    await h.testEnv!.sleep('4 hours');
    await until('sixth reminder', async () => reminders() === 6);
    await until('escalation at 24 h', async () => escalations() === 1);
    const s = await g.state();
    assert.equal(s.reviewReminders, 6);
    assert.equal(s.escalated.review, true);
    await h.testEnv!.sleep('48 hours');
    assert.equal((await g.state()).state, 'awaiting_review', 'still open days later');
    await until('more reminders', async () => reminders() === 18);
    assert.equal(escalations(), 1, 'escalated once');
    const r = await h.api('POST', `/v1/break-glass/${g.id}/review`, { key: g.reviewer.key, body: { outcome: 'appropriate', notes: 'reviewed late' } });
    assert.equal(r.status, 200, r.text);
    await until('completed', async () => (await g.state()).state === 'completed');
  });
});
