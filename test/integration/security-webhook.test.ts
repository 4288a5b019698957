// The internal security webhook against a real local HTTP server: a risk response is posted signed
// as the directory webhook is signed (the receiver verifies it with the same verifier), retried by
// Temporal while the receiver answers 500, and the secret appears nowhere in the run's history.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyRequest } from '../../infra/webhook-signing';
import { getResponse } from '../../store/risk-responses';
import { historyText, rawHistoryText } from '../../testkit/history';
import { startHarness, type Harness } from '../../testkit/engine';
import { homeLoginEvents, recoveryBody, seedAccount, seedIngestion, seedPrincipal, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

const SECRET = 'whsec-risk-' + 'x'.repeat(40);
interface Received {
  status: number;
  verified: boolean;
  reason: string | null;
  body: Record<string, unknown>;
  idempotencyKey: string | undefined;
}
const received: Received[] = [];
let server: http.Server;
let h: Harness;
let tenantId: string;
let key: string;

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const v = verifyRequest({ method: req.method!, path: req.url!, body, headers: req.headers, keys: { security: SECRET } });
      // The first two deliveries fail: Temporal must retry the activity.
      const status = received.length < 2 ? 500 : 200;
      received.push({
        status,
        verified: v.ok,
        reason: v.ok ? null : v.reason,
        body: JSON.parse(body) as Record<string, unknown>,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/security?v=1`;
  h = await startHarness({ env: { SECURITY_WEBHOOK_URL: url, SECURITY_WEBHOOK_SECRET: SECRET } });
  tenantId = await seedTenant(h, 'local');
  key = (await seedIngestion(h, [tenantId])).key;
});
after(async () => {
  await h?.close();
  server?.close();
});

const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

describe('the internal security webhook', () => {
  it('is told of a risk response, signed, retried until it answers 200, with no secret in history', async () => {
    const accountId = await seedAccount(h, tenantId);
    // Weeks of logins from home, then a session used from a network the account never used.
    const home = homeLoginEvents(
      tenantId,
      accountId,
      [20, 10].map((d) => Date.now() - d * 86_400_000),
    );
    const events = [
      ...home,
      { eventId: 'wh-1', type: 'login', tenantId, accountId, at: ago(600), ip: '203.0.113.24', outcome: 'success', sessionId: 's-1', geo: { asn: 2856 } },
      { eventId: 'wh-2', type: 'session_use', tenantId, accountId, at: ago(30), ip: '198.51.100.9', sessionId: 's-1', geo: { asn: 64512 } },
    ];
    const r = await h.api('POST', '/v1/events', { key, body: { events } });
    assert.deepEqual(r.body.results[3].actions, ['session_revoked'], r.text);
    const id = r.body.results[3].responseIds[0] as string;

    await until('the webhook took the event', () => received.some((x) => x.status === 200), 30_000);
    assert.deepEqual(
      received.map((x) => x.status),
      [500, 500, 200],
      'two failed deliveries, then the retry that worked',
    );
    for (const x of received) {
      assert.equal(x.verified, true, `signature verified (${x.reason})`);
      assert.equal(x.idempotencyKey, `${id}:webhook`, 'every retry carries the same idempotency key');
    }
    assert.deepEqual(
      [received[2].body.type, received[2].body.id, received[2].body.action, received[2].body.signal],
      ['risk_response.fired', id, 'revoke_sessions', 'session_hijack'],
    );

    const row = (await getResponse(h.db, id))!;
    const decoded = await historyText(h, row.workflowId);
    const raw = await rawHistoryText(h, row.workflowId);
    assert.ok(decoded.includes('tellOfRiskResponse'), 'the decoded history is readable');
    assert.ok(!decoded.includes(SECRET) && !raw.includes(SECRET), 'the signing secret is not in the history');
  });

  it('is told when a recovery is refused for high risk (impossible travel since the last login)', async () => {
    const accountId = await seedAccount(h, tenantId);
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const london = { ip: '203.0.113.24', deviceId: 'laptop-1', geo: { country: 'GB', asn: 2856, lat: 51.5, lon: -0.12 } };
    const login = await h.api('POST', '/v1/events/login', { key, body: { tenantId, accountId, at: ago(600), ...london, success: true } });
    assert.equal(login.status, 202, login.text);
    const sydney = { ip: '198.51.100.77', deviceId: 'unknown-9', geo: { country: 'AU', asn: 1221, lat: -33.86, lon: 151.2 } };
    const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { context: sydney }) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.body.status, r.body.route], ['refused', 'security']);
    const got = await until('the refusal reached the webhook', () => received.find((x) => x.body.id === r.body.id), 30_000);
    assert.equal(got.verified, true);
    assert.equal(got.body.type, 'recovery.refused_high_risk');
    assert.equal(got.idempotencyKey, `${r.body.id}:webhook-high-risk`);
  });
});
