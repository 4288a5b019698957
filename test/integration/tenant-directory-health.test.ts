// The health of a saved tenant directory and the re-seal of directory secrets (issue 12), over
// real HTTP and Postgres: built-in is healthy; a webhook directory backed by the reference
// receiver is healthy, then unhealthy with a typed problem when the receiver fails (a 200 either
// way) and the recovery_directory_healthy gauge follows (a save sets it at once); a secret whose
// key is not configured is `directory_secret_unreadable`; the periodic check fills the gauge; an
// API restarted with a new first token key re-seals every secret under it (audited, no secret
// anywhere) and the directory still works; bad tenant ids, unknown tenants and other tenants'
// admins are refused.
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type RunningApi } from '../../boot/api';
import { startDirectoryChecks } from '../../boot/directory-checks';
import { DirectoryHealthBoard } from '../../api/directory-status';
import type { HmacKey } from '../../infra/config';
import { sealSecret } from '../../infra/secrets';
import { directorySealPurpose } from '../../store/directories';
import { getTenantDirectory, putTenantDirectory } from '../../store/tenant-directories';
import { auditEvents } from '../../testkit/inspect-audit';
import { ApiClient } from '../../testkit/http';
import { seedPrincipal, seedTenant } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { until } from '../../testkit/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';

const SECRET = 'tenant-webhook-secret-health-0123456789';
let h: Harness;
let rx: WebhookReceiver;
const logLines: string[] = [];

before(async () => {
  h = await startHarness({ logLines });
  rx = await startWebhookReceiver({ wk1: SECRET });
});
after(async () => {
  await rx?.close();
  await h?.close();
});

const health = (tenantId: string, key?: string, http: ApiClient = h.http) =>
  http.call('GET', `/v1/admin/tenants/${tenantId}/directory/health`, key ? { key } : {});
const webhook = { kind: 'webhook', keyId: 'wk1', secret: SECRET };

async function webhookTenant(): Promise<string> {
  const t = await seedTenant(h, 'local');
  const r = await h.api('PUT', `/v1/admin/tenants/${t}/directory`, { body: { ...webhook, baseUrl: rx.url } });
  assert.equal(r.status, 200, r.text);
  return t;
}

async function gauge(baseUrl: string, tenantId: string): Promise<string | undefined> {
  const scraper = await seedPrincipal(h, ['metrics'], ['*']);
  const r = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${scraper.key}` } });
  assert.equal(r.status, 200);
  const line = (await r.text()).split('\n').find((l) => l.startsWith('recovery_directory_healthy{') && l.includes(`tenant="${tenantId}"`));
  return line?.split(' ').at(-1);
}

describe('the health of a saved directory', () => {
  it('a tenant on the built-in directory is healthy', async () => {
    const t = await seedTenant(h, 'local');
    const r = await health(t);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.tenantId, t);
    assert.equal(r.body.kind, 'builtin');
    assert.equal(r.body.healthy, true);
    assert.equal(r.body.problem, null);
    assert.ok(Number.isFinite(r.body.latencyMs) && !Number.isNaN(Date.parse(r.body.checkedAt)));
  });

  it('a webhook directory is healthy, then a failing receiver is a 200 with healthy: false and a typed problem; the gauge follows', async () => {
    const t = await webhookTenant();
    const ok = await health(t);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual({ kind: ok.body.kind, healthy: ok.body.healthy, problem: ok.body.problem }, { kind: 'webhook', healthy: true, problem: null });
    assert.equal(await gauge(h.baseUrl, t), '1');

    rx.failNext('lookup', { kind: 'status', status: 503 });
    const down = await health(t);
    assert.equal(down.status, 200, down.text);
    assert.equal(down.body.healthy, false);
    assert.equal(down.body.problem.code, 'directory_unreachable');
    assert.equal(down.body.problem.field, 'baseUrl');
    assert.equal(await gauge(h.baseUrl, t), '0');

    rx.failNext('lookup', { kind: 'status', status: 401 });
    const refused = await health(t);
    assert.deepEqual(refused.body.problem && { code: refused.body.problem.code, field: refused.body.problem.field }, {
      code: 'directory_auth_failed',
      field: 'secret',
    });
    for (const r of [ok, down, refused]) assert.ok(!r.text.includes(SECRET), 'no secret in the answer');

    assert.equal((await health(t)).body.healthy, true, 'healthy again once the receiver answers');
    assert.equal(await gauge(h.baseUrl, t), '1');

    rx.failNext('lookup', { kind: 'status', status: 503 });
    assert.equal((await health(t)).body.healthy, false);
    // A save passed the same live check: the gauge shows it at once.
    assert.equal((await h.api('PUT', `/v1/admin/tenants/${t}/directory`, { body: { kind: 'builtin' } })).status, 200);
    assert.equal(await gauge(h.baseUrl, t), '1');
    assert.match(
      (await h.http.call('GET', '/metrics', { key: (await seedPrincipal(h, ['metrics'], ['*'])).key })).text,
      new RegExp(`recovery_directory_healthy\\{tenant="${t}",kind="builtin"\\} 1`),
    );
  });

  it('a secret sealed under a key that is not configured is directory_secret_unreadable naming the key id', async () => {
    const t = await seedTenant(h, 'local');
    const sealed = sealSecret(crypto.randomBytes(32), directorySealPurpose(t), SECRET);
    await putTenantDirectory(h.db, {
      tenantId: t,
      kind: 'webhook',
      settings: { baseUrl: rx.url, keyId: 'wk1' },
      secretSealed: sealed,
      secretKeyId: 'retired9',
      updatedBy: 'test',
    });
    const r = await health(t);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.healthy, false);
    assert.equal(r.body.problem.code, 'directory_secret_unreadable');
    assert.match(r.body.problem.message, /retired9/);
  });

  it('the periodic check records every saved directory, a few at a time, and stops', async () => {
    const t = await webhookTenant();
    const board = new DirectoryHealthBoard();
    const checks = startDirectoryChecks({ db: h.db, config: h.config, board, log: false, intervalSeconds: 1 });
    try {
      await until('the first round', () => board.entries().some(([id]) => id === t));
      // Every saved webhook directory of this file shares the receiver: fail a round's worth of lookups.
      rx.failNext('lookup', { kind: 'status', status: 503 }, 4);
      await until('a failing round', () => board.entries().some(([id, s]) => id === t && !s.healthy));
      await until('a healthy round', () => board.entries().some(([id, s]) => id === t && s.healthy));
    } finally {
      await checks.stop();
    }
  });
});

describe('refusals', () => {
  it('400 for a bad tenant id, 404 for an unknown tenant, 403 for another tenant', async () => {
    const bad = await health('Not_A_Tenant');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.details.field, 'params.tenantId');
    const unknown = await health('no-such-tenant');
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.error.code, 'tenant_not_found');
    const mine = await seedTenant(h, 'local');
    const theirs = await seedTenant(h, 'local');
    const admin = await seedPrincipal(h, ['admin'], [mine]);
    assert.equal((await health(mine, admin.key)).status, 200);
    assert.equal((await health(theirs, admin.key)).status, 403);
    const reseal = await h.api('POST', '/v1/admin/directory-secrets/reseal', { key: admin.key });
    assert.equal(reseal.status, 403, reseal.text);
    assert.equal(reseal.body.error.code, 'scope_too_narrow');
  });
});

// Last: the rotated API re-seals every directory of this database under k2, which h lacks.
describe('re-sealing after a token-key rotation', () => {
  let rotated: RunningApi | undefined;
  after(async () => {
    await rotated?.stop();
  });

  it('an API started with [k2, k1] re-seals under k2 at start, audited; the directory still works; the old key set cannot open it', async () => {
    const t = await webhookTenant();
    const k1 = h.config.tokenKeys;
    const k2: HmacKey = { id: 'k2', key: crypto.randomBytes(32) };
    rotated = await startApi({
      config: { ...h.config, tokenKeys: [k2, ...k1], port: 0, directoryHealthCheckSeconds: 1 },
      db: h.db,
      client: h.client,
      searchAttributes: true,
      logger: false,
      mailer: h.mailer,
      taskQueue: h.taskQueue,
    });
    const baseUrl = `http://127.0.0.1:${rotated.port}`;
    const http = new ApiClient(baseUrl, { key: h.adminKey });

    const read = await http.call('GET', `/v1/admin/tenants/${t}/directory`);
    assert.equal(read.body.sealedWith, 'k2');
    assert.equal((await getTenantDirectory(h.db, t))?.secretKeyId, 'k2');
    const ok = await health(t, undefined, http);
    assert.equal(ok.body.healthy, true, ok.text);
    const events = await auditEvents(h.db, { tenantId: t, action: 'directory.resealed' });
    assert.equal(events.length, 1);
    assert.deepEqual({ actor: events[0].actor, from: events[0].details.from, to: events[0].details.to }, { actor: 'system', from: k1[0].id, to: 'k2' });
    assert.ok(!JSON.stringify(events[0]).includes(SECRET));
    // The rotated API's own periodic check sets its gauge.
    await until('the periodic gauge', async () => (await gauge(baseUrl, t)) === '1');

    const again = await http.call('POST', '/v1/admin/directory-secrets/reseal');
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body.resealed, [], 'nothing left to re-seal');
    // The old key set (h) no longer opens it: its health says so, and its re-seal lists it.
    const old = await health(t);
    assert.equal(old.body.problem?.code, 'directory_secret_unreadable', old.text);
    assert.match(old.body.problem.message, /k2/);
    const stale = await h.api('POST', '/v1/admin/directory-secrets/reseal');
    assert.ok(
      stale.body.unreadable.some((u: { tenantId: string; keyId: string }) => u.tenantId === t && u.keyId === 'k2'),
      stale.text,
    );
  });
});

describe('logs', () => {
  it('no log line carries the secret', () => {
    assert.ok(logLines.length > 0);
    assert.ok(!logLines.join('\n').includes(SECRET));
  });
});
