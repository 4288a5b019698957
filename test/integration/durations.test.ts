// Production durations on the time-skipping test server: the built-in policy, no overrides.
// An admin's MFA reset needs two approvals within 24 h and then waits 48 h.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAccount } from '../../store/directory';
import { startHarness, type Harness } from '../../testkit/engine';
import { activeFactorsOf } from '../../testkit/inspect';
import { auditEvents, firstAuditEvent } from '../../testkit/inspect-audit';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { KNOWLEDGE, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.close();
});

const state = async (key: string, id: string) => (await h.api('GET', `/v1/recoveries/${id}`, { key })).body;
const decide = (key: string, id: string) =>
  h.api('POST', `/v1/recoveries/${id}/approvals`, { key, body: { decision: 'approve', comment: 'verified by callback' } });
const hours = (n: number) => h.testEnv!.sleep(`${n} hours`);

async function adminMfaResetAtApproval() {
  const tenantId = await seedTenant(h, 'local');
  const accountId = await seedAccount(h, tenantId, { role: 'admin', mfa: true });
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  const a1 = await seedPrincipal(h, ['approver'], [tenantId]);
  const a2 = await seedPrincipal(h, ['approver'], [tenantId]);
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  for (const body of [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }]) {
    assert.equal((await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body })).status, 200);
  }
  const confirm = await h.sink.waitFor((m) => m.subject.startsWith('Confirm your') && m.to[0].startsWith(`${accountId}@`));
  assert.equal((await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(confirm), tenantId } })).status, 200);
  await until('awaiting approval', async () => (await state(agent.key, id)).state === 'awaiting_approval');
  const s = await state(agent.key, id);
  assert.equal(s.approvals.required, 2);
  return { tenantId, accountId, agent, a1, a2, id };
}

const enrolmentMails = (accountId: string) =>
  h.sink.list().filter((m) => m.subject.startsWith('Enrol a new sign-in factor') && m.to[0].startsWith(`${accountId}@`));

describe('waiting periods at production length', () => {
  it('a 48 h admin MFA reset completes only after 48 h', async () => {
    const { tenantId, accountId, agent, a1, a2, id } = await adminMfaResetAtApproval();
    assert.equal((await decide(a1.key, id)).status, 200);
    assert.equal((await decide(a2.key, id)).status, 200);
    await until('waiting period', async () => (await state(agent.key, id)).state === 'waiting_period');
    const started = await firstAuditEvent(h.db, { caseId: id, action: 'recovery.waiting_period_started' });
    assert.equal((started.details as { waitSeconds: number }).waitSeconds, 48 * 3600, 'the wait is 48 h long');

    await hours(47);
    assert.equal((await state(agent.key, id)).state, 'waiting_period', 'still waiting at hour 47');
    assert.equal(enrolmentMails(accountId).length, 0);
    const acct = (await findAccount(h.db, tenantId, accountId))!;
    assert.equal((await activeFactorsOf(h.db, acct.id)).length, 1);

    await hours(1.1);
    await until('enrolment link', async () => (await state(agent.key, id)).state === 'awaiting_completion');
    const enrol = await h.sink.waitFor((m) => m.subject.startsWith('Enrol a new sign-in factor') && m.to[0].startsWith(`${accountId}@`));
    assert.equal((await activeFactorsOf(h.db, acct.id)).length, 0, 'factors removed after 48 h');
    const r = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(enrol), tenantId, factor: { type: 'totp' } } });
    assert.equal(r.status, 200, r.text);
    await until('completion', async () => (await state(agent.key, id)).state === 'completed');
  });

  it('a cancel at hour 47 stops it, and no reset link is ever sent', async () => {
    const { tenantId, accountId, agent, a1, a2, id } = await adminMfaResetAtApproval();
    assert.equal((await decide(a1.key, id)).status, 200);
    assert.equal((await decide(a2.key, id)).status, 200);
    const notice = await h.sink.waitFor((m) => m.subject.includes('is pending') && m.to.includes(`${accountId}@${tenantId}.test`));
    await hours(47);
    const reminder = await h.sink.waitFor((m) => m.subject.startsWith('Reminder:') && m.to.includes(`${accountId}@${tenantId}.test`));
    assert.ok(reminder, 'a reminder went out before the end');
    const audited = await auditEvents(h.db, { caseId: id });
    assert.ok(
      audited.some((e) => e.action === 'link.reminder_sent'),
      'the reminder is audited',
    );
    const r = await h.api('POST', '/v1/links/cancel', { key: null, body: { token: tokenFrom(notice), tenantId } });
    assert.equal(r.status, 200, r.text);
    await until('cancelled', async () => (await state(agent.key, id)).state === 'cancelled');
    await hours(2);
    assert.equal((await state(agent.key, id)).state, 'cancelled');
    assert.equal(enrolmentMails(accountId).length, 0, 'no reset or enrolment link was ever sent');
    const acct = (await findAccount(h.db, tenantId, accountId))!;
    assert.equal((await activeFactorsOf(h.db, acct.id)).length, 1, 'the factor is untouched');
    assert.equal(
      (await h.api('POST', '/v1/links/cancel', { key: null, body: { token: tokenFrom(reminder), tenantId } })).status,
      404,
      'the reminder link is dead too',
    );
  });

  it('an approval arriving after 24 h is refused, and the recovery expires', async () => {
    const { agent, a1, a2, id } = await adminMfaResetAtApproval();
    assert.equal((await decide(a1.key, id)).status, 200);
    await hours(18.5);
    await h.sink.waitFor((m) => m.subject.startsWith('[approval reminder]') && m.to.includes(a2.email));
    assert.equal((await state(agent.key, id)).state, 'awaiting_approval');
    await hours(6);
    await until('expired', async () => (await state(agent.key, id)).state === 'expired');
    const late = await decide(a2.key, id);
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.error.code, 'approval_closed');
    await h.sink.waitFor((m) => m.subject.startsWith('Expired:') && m.to.includes(agent.email));
  });
});
