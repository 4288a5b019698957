// What ops see: Prometheus metrics, payloads encrypted at rest with a codec endpoint for the
// Temporal UI, and logs of a whole flow that hold no token and no password.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { historyText, rawHistoryText } from '../../testkit/history';
import { KNOWLEDGE, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant, setPolicy, seedLocalAccount } from '../../testkit/seed';

const logLines: string[] = [];
let h: Harness;
before(async () => {
  h = await startHarness({ logLines });
});
after(async () => {
  await h?.close();
});

const NEW_PASSWORD = 'observable-heron-sings-77';

describe('a full flow leaves no secret in the logs', () => {
  it('neither the link token, nor the new password, nor an API key appears in any API or worker log line', async () => {
    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    const id = created.body.id;
    await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
    const token = tokenFrom(await h.sink.waitFor((m) => m.subject.startsWith('Reset your') && m.to[0].startsWith(accountId)));
    await h.api('GET', `/v1/links/${token}?tenant=${tenantId}`, { key: null });
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId, newPassword: NEW_PASSWORD } });
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId, newPassword: NEW_PASSWORD } });
    await until('completed', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state === 'completed');
    const all = logLines.join('\n');
    assert.ok(logLines.length > 20, `the flow was logged (${logLines.length} lines)`);
    assert.ok(all.includes('/v1/links/[redacted]'), 'link paths are logged with the token removed');
    for (const [what, secret] of [
      ['token', token.split('.')[1]],
      ['new password', NEW_PASSWORD],
      ['agent API key', agent.key],
      ['admin API key', h.adminKey],
      ['knowledge answer', KNOWLEDGE.postcode],
    ]) {
      assert.ok(!all.includes(secret), `the ${what} appears in the logs`);
    }
  });
});

describe('payloads are encrypted, and authorised ops can read them', () => {
  it('the server stores ciphertext; the codec endpoint decodes it for a `*`-scoped auditor only', async () => {
    const tenantId = await seedTenant(h, 'local');
    await setPolicy(h, tenantId, { rules: { mfa_reset: { standard: { waitSeconds: 1 } } } });
    const accountId = await seedAccount(h, tenantId, { mfa: true });
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const approver = await seedPrincipal(h, ['approver'], [tenantId]);
    await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
    const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
    for (const body of [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }])
      await h.api('POST', `/v1/recoveries/${r.body.id}/verifications`, { key: agent.key, body });
    const confirm = await h.sink.waitFor((m) => m.subject.startsWith('Confirm your') && m.to[0].startsWith(accountId));
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(confirm), tenantId } });
    await until('awaiting approval', async () => (await h.api('GET', `/v1/recoveries/${r.body.id}`, { key: agent.key })).body.state === 'awaiting_approval');
    const comment = 'Called Dana Whitfield back on +44 20 7946 0958';
    assert.equal((await h.api('POST', `/v1/recoveries/${r.body.id}/approvals`, { key: approver.key, body: { decision: 'approve', comment } })).status, 200);
    const workflowId = `recovery:${tenantId}:${accountId}:mfa_reset`;
    assert.ok(!(await rawHistoryText(h, workflowId)).includes('Dana Whitfield'), 'the Temporal server never sees personal data in clear');
    assert.ok((await historyText(h, workflowId)).includes('Dana Whitfield'), 'it decodes with the keys');

    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const accepted = history.events!.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'decide')!;
    const encrypted = accepted.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads![0];
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(encrypted.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(encrypted.data!).toString('base64'),
        },
      ],
    };
    assert.equal((await h.api('POST', '/codec/decode', { key: null, body })).status, 401);
    assert.equal((await h.api('POST', '/codec/decode', { key: agent.key, body })).status, 403);
    assert.equal((await h.api('POST', '/codec/decode', { key: (await seedPrincipal(h, ['auditor'], [tenantId])).key, body })).status, 403);
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const decoded = await h.api('POST', '/codec/decode', { key: auditor.key, body, headers: { origin: 'http://localhost:8233' } });
    assert.equal(decoded.status, 200, decoded.text);
    assert.equal(decoded.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.ok(Buffer.from(decoded.body.payloads[0].data, 'base64').toString('utf8').includes('Dana Whitfield'));
    const preflight = await fetch(`${h.baseUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null, 'other origins get no CORS grant');
    const tampered = structuredClone(body);
    tampered.payloads[0].data = Buffer.from(Buffer.from(body.payloads[0].data, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64');
    const bad = await h.api('POST', '/codec/decode', { key: auditor.key, body: tampered });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'payloads');
  });
});

describe('Prometheus metrics', () => {
  it('expose route latency, outcomes by kind and state, pending stages, and email delivery outcomes', async () => {
    const scraper = await seedPrincipal(h, ['metrics'], ['*']);
    const r = await fetch(`${h.baseUrl}/metrics`, { headers: { authorization: `Bearer ${scraper.key}` } });
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.match(text, /recovery_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/recoveries"/);
    assert.match(text, /recovery_workflow_outcomes\{kind="password_reset",state="completed"\} [1-9]/);
    assert.match(text, /recovery_pending\{kind="mfa_reset",stage="(awaiting_approval|waiting_period)"\} 1/);
    assert.match(text, /recovery_email_deliveries\{template="password_changed",status="sent"\} [1-9]/);
    assert.match(text, /recovery_api_process_resident_memory_bytes/);
  });
});
