// Issue 11, item 2: one admin, or one person with several keys, must not satisfy dual approval
// alone. Principals are bound to verified persons, and separation of duties compares people.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { auditEvents } from '../../testkit/inspect-audit';
import { tokenFrom } from '../../testkit/mail';
import {
  KNOWLEDGE,
  recoveryBody,
  seedAccount,
  seedBreakGlassTeam,
  seedIngestion,
  seedLogin,
  seedPrincipal,
  seedTenant,
  setPolicy,
  uniq,
} from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A seed target acting with another admin's key (the insider), reading the same mail sink. */
const as = (adminKey: string) => ({ http: h.http, adminKey, sink: h.sink });

const grant = async (key: string, id: string) => (await h.api('GET', `/v1/break-glass/${id}`, { key })).body;
const approveGrant = (key: string, id: string) =>
  h.api('POST', `/v1/break-glass/${id}/approvals`, { key, body: { decision: 'approve', comment: 'incident confirmed on the bridge' } });
const decide = (key: string, id: string) => h.api('POST', `/v1/recoveries/${id}/approvals`, { key, body: { decision: 'approve', comment: 'called back' } });

/** Requests break-glass on the tenant's designated account and waits until it is open for decisions. */
async function requestGrant(key: string, tenantId: string): Promise<string> {
  const r = await h.api('POST', '/v1/break-glass', {
    key,
    body: { tenantId, target: { designated: true }, justification: 'prod database locked', ticketRef: 'INC-1', durationSeconds: 4 },
  });
  assert.equal(r.status, 202, r.text);
  await until('awaiting approval', async () => (await grant(key, r.body.id)).state === 'awaiting_approval');
  return r.body.id as string;
}

/** An MFA reset of an admin-role account (two approvals), verified up to the approval stage. */
async function recoveryAtApproval() {
  const tenantId = await seedTenant(h, 'local');
  await setPolicy(h, tenantId, { approvalDeadlineSeconds: 60 });
  const accountId = await seedAccount(h, tenantId, { role: 'admin', mfa: true });
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  for (const body of [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }]) {
    const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body });
    assert.equal(v.status, 200, v.text);
  }
  const mail = await h.sink.waitFor((m) => m.subject.startsWith('Confirm your') && m.to[0] === `${accountId}@${tenantId}.test`);
  assert.equal((await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId } })).status, 200);
  const state = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body;
  await until('awaiting approval', async () => (await state()).state === 'awaiting_approval');
  return { tenantId, accountId, agent, id, state };
}

describe('one admin cannot satisfy dual approval alone', () => {
  it('an admin scoped to a tenant mints two break-glass approvers, requests, approves with both: refused, no credential', async () => {
    const t = await seedBreakGlassTeam(h);
    const insider = await seedPrincipal(h, ['admin'], [t.tenantId]);
    const k1 = await seedPrincipal(as(insider.key), ['break_glass_approver'], [t.tenantId]);
    const k2 = await seedPrincipal(as(insider.key), ['break_glass_approver'], [t.tenantId]);
    const id = await requestGrant(insider.key, t.tenantId);

    for (const k of [k1, k2]) {
      const r = await approveGrant(k.key, id);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, 'creator_conflict');
    }
    const pickup = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: insider.key });
    assert.equal(pickup.status, 409, pickup.text);
    assert.equal(pickup.body.error.code, 'credential_not_issued');
    const g = await grant(insider.key, id);
    assert.equal(g.state, 'awaiting_approval');
    assert.equal(g.approvals.received.length, 0);
  });

  it('a principal never approves a request made by a principal it created', async () => {
    const t = await seedBreakGlassTeam(h);
    const creator = await seedPrincipal(h, ['admin', 'break_glass_approver'], [t.tenantId]);
    const agent = await seedPrincipal(as(creator.key), ['agent'], [t.tenantId]);
    const id = await requestGrant(agent.key, t.tenantId);
    const r = await approveGrant(creator.key, id);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'creator_conflict');
    assert.equal((await approveGrant(t.p1.key, id)).status, 200, 'an independent approver still decides');
  });
});

describe('people are compared, not keys', () => {
  it('one person holding two approver keys counts once on a recovery', async () => {
    const { tenantId, id, state } = await recoveryAtApproval();
    const email = `${uniq('dana')}@staff.test`;
    const key1 = await seedPrincipal(h, ['approver'], [tenantId], undefined, { email });
    const key2 = await seedPrincipal(h, ['approver'], [tenantId], undefined, { email: email.toUpperCase() });
    assert.equal((await decide(key1.key, id)).status, 200);
    const second = await decide(key2.key, id);
    assert.equal(second.status, 403, second.text);
    assert.equal(second.body.error.code, 'same_person');
    const s = await state();
    assert.equal(s.state, 'awaiting_approval');
    assert.equal(s.approvals.received.length, 1);
  });

  it('two keys of one person approving a grant at the same moment count once', async () => {
    const t = await seedBreakGlassTeam(h);
    const email = `${uniq('sam')}@staff.test`;
    const keys = [
      await seedPrincipal(h, ['break_glass_approver'], [t.tenantId], undefined, { email }),
      await seedPrincipal(h, ['break_glass_approver'], [t.tenantId], undefined, { email }),
    ];
    const id = await requestGrant(t.requester.key, t.tenantId);
    const answers = await Promise.all(keys.map((k) => approveGrant(k.key, id)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 403], answers.map((a) => a.text).join(' | '));
    assert.equal(answers.find((a) => a.status === 403)!.body.error.code, 'same_person');
    const g = await grant(t.requester.key, id);
    assert.equal(g.state, 'awaiting_approval');
    assert.equal(g.approvals.received.length, 1);
  });

  it("the requester's person never approves, whatever key they use", async () => {
    const t = await seedBreakGlassTeam(h);
    const second = await seedPrincipal(h, ['break_glass_approver'], [t.tenantId], undefined, { email: t.requester.email });
    const id = await requestGrant(t.requester.key, t.tenantId);
    const r = await approveGrant(second.key, id);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'same_person');
  });

  it("the reviewer is never the requester's or an approver's person", async () => {
    const t = await seedBreakGlassTeam(h);
    const id = await requestGrant(t.requester.key, t.tenantId);
    assert.equal((await approveGrant(t.p1.key, id)).status, 200);
    assert.equal((await approveGrant(t.p2.key, id)).status, 200);
    await until('review', async () => (await grant(t.requester.key, id)).state === 'awaiting_review', 30_000);
    for (const email of [t.requester.email, t.p2.email]) {
      const reviewer = await seedPrincipal(h, ['reviewer'], [t.tenantId], undefined, { email });
      const r = await h.api('POST', `/v1/break-glass/${id}/review`, { key: reviewer.key, body: { outcome: 'appropriate', notes: 'looks fine' } });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, 'same_person');
    }
    assert.equal((await grant(t.requester.key, id)).state, 'awaiting_review');
  });

  it('an approver with no account binding never approves the recovery of an account at their own address', async () => {
    const { tenantId, accountId, id } = await recoveryAtApproval();
    const owner = await seedPrincipal(h, ['approver'], [tenantId], undefined, { email: `${accountId}.home@example.test` });
    const r = await decide(owner.key, id);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'owner_cannot_approve');
  });

  it('a principal whose person is not verified cannot approve', async () => {
    const { tenantId, id } = await recoveryAtApproval();
    const name = uniq('p');
    const created = await h.api('POST', '/v1/admin/principals', { body: { name, roles: ['approver'], tenantScope: [tenantId], email: `${name}@staff.test` } });
    assert.equal(created.status, 201, created.text);
    const r = await decide(created.body.apiKey, id);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'person_unverified');
  });
});

describe('a person is verified from their own mailbox', () => {
  it('the person link works once; used, unknown and malformed tokens answer alike', async () => {
    const tenantId = await seedTenant(h, 'local');
    const name = uniq('p');
    const email = `${name}@staff.test`;
    const created = await h.api('POST', '/v1/admin/principals', { body: { name, roles: ['reviewer'], tenantScope: [tenantId], email } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.personConfirmed, false);
    const mail = await h.sink.waitFor((m) => m.to.includes(email) && m.text.includes(created.body.id));
    const verify = (token: string) => h.api('POST', '/v1/persons/verify', { key: null, body: { token } });
    const first = await verify(tokenFrom(mail));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.principalId, created.body.id);
    const answers = [await verify(tokenFrom(mail)), await verify(`t1.${'A'.repeat(43)}`), await verify('not-a-token')];
    for (const a of answers) {
      assert.equal(a.status, 404, a.text);
      assert.equal(a.text, answers[0].text);
    }
  });

  it('a rotated approver key decides only once its person confirms again: the admin who saw the key cannot use it', async () => {
    const { tenantId, id } = await recoveryAtApproval();
    const approver = await seedPrincipal(h, ['approver'], [tenantId]);
    const rotated = await h.api('POST', `/v1/admin/principals/${approver.id}/rotate-key`);
    assert.equal(rotated.status, 200, rotated.text);
    const r = await decide(rotated.body.apiKey, id);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'person_unverified');
  });

  it('a deciding role without an email address is refused at creation', async () => {
    const tenantId = await seedTenant(h, 'local');
    const r = await h.api('POST', '/v1/admin/principals', { body: { name: uniq('p'), roles: ['approver'], tenantScope: [tenantId] } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.details.field, 'email');
  });
});

describe('approver roles are visible to the tenant', () => {
  it("creating a principal with an approver role tells the tenant's security contacts", async () => {
    const tenantId = await seedTenant(h, 'local');
    const p = await seedPrincipal(h, ['break_glass_approver'], [tenantId]);
    const notice = await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.text.includes(p.id), 5_000);
    assert.match(notice.subject, /^\[security\]/);
    assert.match(notice.text, /break_glass_approver/);
    assert.equal((await h.api('POST', `/v1/admin/principals/${p.id}/rotate-key`)).status, 200);
    await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.subject.includes('API key rotated') && m.text.includes(p.id), 5_000);
    const audited = await auditEvents(h.db, { tenantId, action: 'security.approver_change_notified' });
    assert.deepEqual(
      audited.map((e) => e.details.change),
      ['created', 'key_rotated'],
    );
  });

  it('a principal without a deciding role is not announced', async () => {
    const tenantId = await seedTenant(h, 'local');
    await seedPrincipal(h, ['agent'], [tenantId]);
    assert.equal((await auditEvents(h.db, { tenantId, action: 'security.approver_change_notified' })).length, 0);
  });
});
