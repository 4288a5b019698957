// Whole recoveries and grants against the reference webhook receiver while it fails as a real user
// store does: answers lost to a timeout and 5xx are retried under the same idempotency key (the
// change applies once and the case completes); a 403 or a 422 refusal is final: the recovery or
// grant fails with the receiver's code, nothing misleading reaches the owner, and neither the
// staged password nor the emergency credential survives. An outage met during a request is a 502.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditEvents } from '../../testkit/inspect-audit';
import { accountsOf, credentialsOf, tokensOf } from '../../testkit/inspect';
import { seedPrincipal } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';
import { directoryBackends, NEW_PASSWORD, WEBHOOK_SECRET, type Backend } from '../../testkit/directory-backends';

let h: Harness;
let receiver: WebhookReceiver;
let kit: ReturnType<typeof directoryBackends>;
let b: Backend;

before(async () => {
  h = await startHarness();
  receiver = await startWebhookReceiver({ 'suite-key': WEBHOOK_SECRET });
  kit = directoryBackends(h, receiver);
  b = await kit.webhook();
});
after(async () => {
  await receiver?.close();
  await h?.close();
});

/** A password reset up to the owner using the link (the receiver fails as told from then on). */
async function redeemed(prepare: () => void) {
  const a = await b.account({ role: 'standard', suite: 'reset' });
  const { agent, id } = await kit.started(b, a, 'password_reset');
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(a.address));
  prepare();
  const r = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId: b.tenantId, newPassword: NEW_PASSWORD } });
  assert.equal(r.status, 200, r.text);
  return { a, agent, id };
}

const applied = (op: string, accountId: string) => receiver.applied.filter((x) => x.op === op && x.accountId === accountId);

describe('a user store that fails for a while', () => {
  it('two 5xx on the password and a hang on the revocation are retried: each change applies once, the recovery completes', async () => {
    const { a, agent, id } = await redeemed(() => {
      receiver.failNext('setPassword', { kind: 'status', status: 503 }, 2);
      receiver.failNext('revokeSessions', { kind: 'hang' });
    });
    await until('completed', async () => (await kit.state(agent.key, id)).state === 'completed', 60_000);
    const token = (await tokensOf(h.db, id, 'password_reset'))[0];
    assert.deepEqual(
      applied('setPassword', a.accountId).map((x) => x.idempotencyKey),
      [`${id}:apply-password:${token.id}`],
      'applied once, under the key of the case and step',
    );
    assert.equal(applied('revokeSessions', a.accountId).length, 1);
    assert.ok(await b.signIn(a.accountId, NEW_PASSWORD));
    assert.deepEqual(await kit.stagedLeft(id), []);
  });
});

describe('a user store that refuses for good', () => {
  it('a 403 on the password: the recovery fails with directory_forbidden, the owner is told nothing, the password is destroyed', async () => {
    const { a, agent, id } = await redeemed(() => receiver.failNext('setPassword', { kind: 'status', status: 403, code: 'not_allowed' }));
    await until('failed', async () => (await kit.state(agent.key, id)).state === 'failed', 30_000);
    const s = await kit.state(agent.key, id);
    assert.ok(
      s.reasons.some((r: { code: string; detail: string }) => r.code === 'directory_refused' && r.detail.includes('directory_forbidden')),
      JSON.stringify(s.reasons),
    );
    assert.equal(applied('setPassword', a.accountId).length, 0, 'tried once, not retried');
    const ev = await auditEvents(h.db, { caseId: id, action: 'recovery.directory_refused' });
    assert.equal(ev.length, 1);
    assert.equal((ev[0].details as { code: string }).code, 'directory_forbidden');
    assert.ok(!h.sink.list().some((m) => m.subject.includes('password was changed') && m.to.includes(a.address)));
    assert.equal(await b.signIn(a.accountId, NEW_PASSWORD), null);
    assert.deepEqual(await kit.stagedLeft(id), []);
  });

  it('a 422 sso_managed on the emergency credential: the grant fails and the credential works nowhere', async () => {
    const a = await b.account({ role: 'admin', suite: 'bg' });
    const requester = await seedPrincipal(h, ['agent'], [b.tenantId]);
    const approvers = [await seedPrincipal(h, ['break_glass_approver'], [b.tenantId]), await seedPrincipal(h, ['break_glass_approver'], [b.tenantId])];
    const body = { tenantId: b.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-9', durationSeconds: 60 };
    const r = await h.api('POST', '/v1/break-glass', { key: requester.key, body });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    const grant = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: requester.key })).body;
    await until('awaiting approval', async () => (await grant()).state === 'awaiting_approval');
    receiver.failNext('grantAccess', { kind: 'status', status: 422, code: 'sso_managed' });
    for (const p of approvers) {
      const d = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'incident on the bridge' } });
      assert.equal(d.status, 200, d.text);
    }
    await until('failed', async () => (await grant()).state === 'failed', 30_000);
    const ev = await auditEvents(h.db, { caseId: id, action: 'access.directory_refused' });
    assert.equal((ev[0]?.details as { code?: string } | undefined)?.code, 'sso_managed');
    const fetched = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: requester.key });
    assert.notEqual(fetched.status, 200, 'nothing to pick up');
    const [cred] = await credentialsOf(h.db, id);
    assert.notEqual(cred.revoked_at, null, 'the credential is revoked in the engine too');
    assert.equal(receiver.accounts.get(a.accountId)!.accessGrants.length, 0);
  });
});

describe('a user store that is down during a request', () => {
  it('a login event for an account the engine has not seen yet is a 502 directory_unreachable, not a 500', async () => {
    const a = await b.account({ role: 'standard', suite: 'reset' });
    const ingestion = await seedPrincipal(h, ['ingestion'], [b.tenantId]);
    receiver.failNext('lookup', { kind: 'status', status: 503 });
    const body = { tenantId: b.tenantId, accountId: a.accountId, ip: '203.0.113.7', success: true };
    const r = await h.api('POST', '/v1/events/login', { key: ingestion.key, body });
    assert.equal(r.status, 502, r.text);
    assert.equal(r.body.error.code, 'directory_unreachable');
    const again = await h.api('POST', '/v1/events/login', { key: ingestion.key, body });
    assert.equal(again.status, 202, again.text);
  });
});

describe("a remote tenant's accounts are changed where they live", () => {
  it('account import and account changes through the engine are refused with 409 directory_remote, and nothing is written', async () => {
    const a = await b.account({ role: 'standard', suite: 'reset' });
    const imported = await h.api('POST', `/v1/admin/tenants/${b.tenantId}/accounts`, {
      body: { accounts: [{ externalId: 'planted', role: 'standard', authMethod: 'local', emails: ['planted@evil.test'] }] },
    });
    assert.equal(imported.status, 409, imported.text);
    assert.equal(imported.body.error.code, 'directory_remote');
    assert.equal(imported.body.error.details.field, 'tenantId');
    const changed = await h.api('PATCH', `/v1/admin/tenants/${b.tenantId}/accounts/${a.accountId}`, {
      body: { reason: 'owner asked', emails: ['attacker@evil.test'] },
    });
    assert.equal(changed.status, 409, changed.text);
    assert.equal(changed.body.error.code, 'directory_remote');
    assert.deepEqual(
      (await accountsOf(h.db, b.tenantId)).filter((r) => r.external_id === 'planted'),
      [],
    );
    assert.deepEqual(receiver.accounts.get(a.accountId)!.addresses, [a.address]);
  });
});
