// One recovery and break-glass suite, run against every kind of identity system a tenant can
// choose: the built-in directory, the signed webhook (the reference receiver of the test kit) and
// a real Keycloak (started by the test runner). Each effect is checked in the directory itself,
// through its own sign-in: the new password works and the old one does not, the MFA factor is gone
// and enrolment required, every session has ended, the emergency credential works only for the
// grant's life. No secret of any kind reaches a workflow history. A directory that refuses a change
// for good ends the recovery as failed, with its code, and the owner is told nothing misleading.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grantRow, recoveryRow } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { recoveryBody, seedPrincipal } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { directoriesFor } from '../../store/directories';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';
import { directoryBackends, NEW_PASSWORD, WEBHOOK_SECRET, type Backend } from '../../testkit/directory-backends';

let h: Harness;
let receiver: WebhookReceiver;
let kit: ReturnType<typeof directoryBackends>;

before(async () => {
  h = await startHarness();
  receiver = await startWebhookReceiver({ 'suite-key': WEBHOOK_SECRET });
  kit = directoryBackends(h, receiver);
});
after(async () => {
  await receiver?.close();
  await h?.close();
});

async function passwordReset(b: Backend) {
  const a = await b.account({ role: 'standard', suite: 'reset' });
  const before = await b.signIn(a.accountId, a.password!);
  assert.ok(before, 'the old password works before the reset');
  const { agent, id } = await kit.started(b, a, 'password_reset');
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(a.address));
  assert.deepEqual(mail.to, [a.address], 'the link goes to the address the directory holds');
  const redeem = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId: b.tenantId, newPassword: NEW_PASSWORD } });
  assert.equal(redeem.status, 200, redeem.text);
  await until('completed', async () => (await kit.state(agent.key, id)).state === 'completed', 30_000);
  assert.equal(await b.liveSessions(a.accountId), 0, 'the session of before has ended');
  assert.ok(await b.signIn(a.accountId, NEW_PASSWORD), 'the new password works in the directory');
  assert.equal(await b.signIn(a.accountId, a.password!), null, 'the old one does not');
  await h.sink.waitFor((m) => m.subject.includes('password was changed') && m.to.includes(a.address));
  const row = await recoveryRow(h.db, id);
  await kit.noSecretIn(row.workflow_id, [NEW_PASSWORD, ...b.secrets]);
  assert.deepEqual(await kit.stagedLeft(id), [], 'no staged password is left once applied');
}

async function mfaReset(b: Backend) {
  const a = await b.account({ role: 'standard', mfa: true, suite: 'mfa' });
  assert.ok((await b.mfa(a.accountId)).factors >= 1);
  assert.ok(await b.signIn(a.accountId, a.password!), 'a session to end');
  assert.ok((await b.liveSessions(a.accountId)) >= 1);
  const { agent, id } = await kit.started(b, a, 'mfa_reset');
  const t3 = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'email' } });
  assert.equal(t3.status, 200, t3.text);
  const confirm = await h.sink.waitFor((m) => m.subject.startsWith('Confirm your') && m.to[0] === a.address);
  assert.equal((await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(confirm), tenantId: b.tenantId } })).status, 200);
  await until('awaiting approval', async () => (await kit.state(agent.key, id)).state === 'awaiting_approval');
  const approver = await seedPrincipal(h, ['approver'], [b.tenantId]);
  const d = await h.api('POST', `/v1/recoveries/${id}/approvals`, { key: approver.key, body: { decision: 'approve', comment: 'called the owner back' } });
  assert.equal(d.status, 200, d.text);
  // The built-in directory waits for the enrolment link; a remote one enrols at its own next sign-in.
  await until('factors removed', async () => ['awaiting_completion', 'completed'].includes((await kit.state(agent.key, id)).state), 30_000);
  const after = await b.mfa(a.accountId);
  assert.equal(after.factors, 0, 'every MFA factor is gone');
  assert.equal(after.enrolmentRequired, true, 'enrolment is required at the next sign-in');
  assert.equal(await b.liveSessions(a.accountId), 0, 'every session has ended');
  if (b.kind !== 'builtin') assert.equal((await kit.state(agent.key, id)).state, 'completed');
  await kit.noSecretIn((await recoveryRow(h.db, id)).workflow_id, b.secrets);
}

async function breakGlass(b: Backend) {
  const a = await b.account({ role: 'admin', suite: 'bg' });
  const requester = await seedPrincipal(h, ['agent'], [b.tenantId]);
  const approvers = [await seedPrincipal(h, ['break_glass_approver'], [b.tenantId]), await seedPrincipal(h, ['break_glass_approver'], [b.tenantId])];
  const reviewer = await seedPrincipal(h, ['reviewer'], [b.tenantId]);
  const body = {
    tenantId: b.tenantId,
    target: { designated: true },
    justification: 'prod locked after a failed migration',
    ticketRef: 'INC-7',
    durationSeconds: 8,
  };
  const r = await h.api('POST', '/v1/break-glass', { key: requester.key, body });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  const grant = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: requester.key })).body;
  await until('awaiting approval', async () => (await grant()).state === 'awaiting_approval');
  for (const p of approvers) {
    const d = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'incident on the bridge' } });
    assert.equal(d.status, 200, d.text);
  }
  await until('active', async () => (await grant()).state === 'active', 20_000);
  const fetched = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: requester.key });
  assert.equal(fetched.status, 200, fetched.text);
  const credential = fetched.body.credential as string;
  assert.ok(await b.signIn(a.accountId, credential), 'the emergency credential signs in to the directory');
  await until('review', async () => (await grant()).state === 'awaiting_review', 30_000);
  assert.equal(await b.signIn(a.accountId, credential), null, 'the credential stops when the grant ends');
  assert.equal(await b.signIn(a.accountId, a.password!), null, "the account's own credential was rotated");
  assert.equal(await b.liveSessions(a.accountId), 0, 'every session opened with it has ended');
  assert.equal((await grant()).rotated, true);
  const review = await h.api('POST', `/v1/break-glass/${id}/review`, {
    key: reviewer.key,
    body: { outcome: 'appropriate', notes: 'matches the incident timeline' },
  });
  assert.equal(review.status, 200, review.text);
  await until('completed', async () => (await grant()).state === 'completed');
  await kit.noSecretIn((await grantRow(h.db, id)).workflow_id, [credential, credential.split('.')[1], ...b.secrets]);
}

async function ssoRefused(b: Backend) {
  const a = await b.account({ role: 'standard', sso: true, suite: 'sso' });
  const agent = await seedPrincipal(h, ['agent'], [b.tenantId]);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(b.tenantId, a.accountId, {}) });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.body.status, 'refused');
  assert.equal(created.body.route, 'customer_it');
  assert.ok(
    created.body.reasons.some((r: { code: string }) => r.code === 'account_sso_managed'),
    JSON.stringify(created.body.reasons),
  );
}

/** The account is deleted between the link and its use: the recovery fails with the code, and no "changed" notice goes out. */
async function goneBeforeApply(b: Backend) {
  const a = await b.account({ role: 'standard', suite: 'gone' });
  const { agent, id } = await kit.started(b, a, 'password_reset');
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(a.address));
  await b.remove(a.accountId);
  await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId: b.tenantId, newPassword: NEW_PASSWORD } });
  await until('failed', async () => (await kit.state(agent.key, id)).state === 'failed', 30_000);
  const s = await kit.state(agent.key, id);
  assert.ok(
    s.reasons.some((r: { code: string; detail: string }) => r.code === 'directory_refused' && r.detail.includes('account_not_found')),
    JSON.stringify(s.reasons),
  );
  assert.equal((await auditEvents(h.db, { caseId: id, action: 'recovery.directory_refused' })).length, 1);
  assert.deepEqual(await kit.stagedLeft(id), [], 'a refused password is destroyed too');
  assert.ok(
    !h.sink.list().some((m) => m.subject.includes('password was changed') && m.to.includes(a.address)),
    'the owner is not told of a change that did not happen',
  );
}

/** Disable and enable (lifecycle) through the port the workflows use, checked at the directory's own sign-in. */
async function lifecycle(b: Backend) {
  const a = await b.account({ role: 'standard', suite: 'life' });
  const ref = { tenantId: b.tenantId, accountId: a.accountId };
  const directory = await directoriesFor(h.db, h.config)(b.tenantId);
  assert.equal(directory.kind, b.kind);
  assert.ok(await b.signIn(a.accountId, a.password!), 'signs in while active');
  const change = (step: string) => ({ idempotencyKey: `life:${a.accountId}:${step}`, by: 'test:lifecycle', reason: 'offboarding review' });
  assert.deepEqual(await directory.setActive(ref, false, change('off')), { active: false });
  assert.equal((await directory.lookup(ref))?.active, false);
  assert.equal(await b.signIn(a.accountId, a.password!), null, 'a disabled account cannot sign in');
  assert.deepEqual(await directory.setActive(ref, true, change('on')), { active: true });
  assert.equal((await directory.lookup(ref))?.active, true);
  assert.ok(await b.signIn(a.accountId, a.password!), 'enabled again, it signs in');
}

for (const [kind, make] of [
  ['builtin', () => kit.builtin()],
  ['webhook', () => kit.webhook()],
  ['keycloak', () => kit.keycloak()],
] as const) {
  describe(`the ${kind} directory`, () => {
    let b: Backend;
    before(async () => {
      b = await make();
    });
    it('a password reset: the new password signs in to the directory, the old one does not, sessions end, no secret in history', () => passwordReset(b));
    it('an MFA reset: factors gone, enrolment required, every session ended', () => mfaReset(b));
    it('break-glass: the credential works for the grant only, then rotation and an independent review', () => breakGlass(b));
    it('an SSO-managed account is refused and routed to customer IT', () => ssoRefused(b));
    it('disable and enable through the port', () => lifecycle(b));
    it('an account deleted before the change ends the recovery as failed with the reason, and nothing misleading is sent', () => goneBeforeApply(b));
  });
}
