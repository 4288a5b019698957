// A hijack on a tenant whose accounts live in its own user store (the signed webhook directory):
// the sessions are revoked there; when the store refuses, the response is escalated to a person,
// the security contacts are told, and an admin must acknowledge it. The run is visible in the
// Temporal UI by its search attributes, with a summary that names no person.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPublicSummary } from '../../domain/public-summary';
import { getResponse } from '../../store/risk-responses';
import { directoryBackends, WEBHOOK_SECRET, type Backend } from '../../testkit/directory-backends';
import { startHarness, type Harness } from '../../testkit/engine';
import { homeLoginEvents, seedIngestion, seedPrincipal } from '../../testkit/seed';
import { until } from '../../testkit/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';

let h: Harness;
let receiver: WebhookReceiver;
let b: Backend;
let key: string;
before(async () => {
  h = await startHarness();
  receiver = await startWebhookReceiver({ 'suite-key': WEBHOOK_SECRET });
  b = await directoryBackends(h, receiver).webhook();
  key = (await seedIngestion(h, [b.tenantId])).key;
});
after(async () => {
  await receiver?.close();
  await h?.close();
});

let n = 0;
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

/**
 * Weeks of logins from home, a login with a session, then a use of that session from a network the
 * account never used; returns the response id.
 */
async function hijack(accountId: string): Promise<string> {
  const tenantId = b.tenantId;
  const home = homeLoginEvents(
    tenantId,
    accountId,
    [20, 10].map((d) => Date.now() - d * 86_400_000),
  );
  const events = [
    ...home,
    {
      eventId: `rdir-${++n}`,
      type: 'login',
      tenantId,
      accountId,
      at: ago(600),
      ip: '203.0.113.24',
      outcome: 'success',
      sessionId: `s-${n}`,
      geo: { asn: 2856 },
    },
    { eventId: `rdir-${++n}`, type: 'session_use', tenantId, accountId, at: ago(30), ip: '198.51.100.9', sessionId: `s-${n - 1}`, geo: { asn: 64512 } },
  ];
  const r = await h.api('POST', '/v1/events', { key, body: { events } });
  assert.deepEqual(r.body.results[3].actions, ['session_revoked'], r.text);
  return r.body.results[3].responseIds[0] as string;
}

describe('a hijacked session in a remote user store', () => {
  it('is revoked there, by the tenant directory connector; the run is findable in Temporal with a summary free of personal data', async () => {
    const a = await b.account({ role: 'standard', suite: 'reset' });
    const session = await b.signIn(a.accountId, a.password!);
    assert.ok(session);
    const id = await hijack(a.accountId);
    await until('revoked in the user store', async () => (await getResponse(h.db, id))?.state === 'applied');
    assert.equal(await b.liveSessions(a.accountId), 0);
    assert.equal(receiver.applied.filter((x) => x.op === 'revokeSessions' && x.accountId === a.accountId).length, 1);

    const row = (await getResponse(h.db, id))!;
    const query = `TenantId = '${b.tenantId}' AND AccountId = '${a.accountId}' AND RecoveryKind = 'risk_revoke_sessions'`;
    const found = await until(
      'listed by search attributes',
      async () => {
        const runs = [];
        for await (const w of h.client.workflow.list({ query })) runs.push(w);
        return runs.length === 1 && runs[0].workflowId === row.workflowId && runs;
      },
      20_000,
    );
    const desc = await h.client.workflow.getHandle(found[0].workflowId).describe();
    const summary = (await desc.staticSummary()) ?? '';
    assert.equal(summary, `risk_revoke_sessions ${id}`);
    assert.ok(isPublicSummary(summary));
  });

  it('when the store refuses, the response is escalated, the contacts told, and an admin acknowledges it', async () => {
    const a = await b.account({ role: 'standard', suite: 'reset' });
    receiver.failNext('revokeSessions', { kind: 'status', status: 403, code: 'not_allowed' });
    const id = await hijack(a.accountId);
    await until('escalated', async () => (await getResponse(h.db, id))?.state === 'escalated');
    assert.equal((await getResponse(h.db, id))!.outcome?.directoryRefused, 'directory_forbidden');
    await h.sink.waitFor((m) => m.to.includes(`security@${b.tenantId}.test`) && m.subject.includes(a.accountId));

    const admin = await seedPrincipal(h, ['admin'], [b.tenantId]);
    const r = await h.api('POST', `/v1/risk-responses/${id}/acknowledge`, { key: admin.key, body: { reason: 'revoked by hand in the user store' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.state, 'acknowledged');
    const done = await h.client.workflow.getHandle((await getResponse(h.db, id))!.workflowId).result();
    assert.deepEqual(done, { responseId: id, state: 'acknowledged' });
  });
});
