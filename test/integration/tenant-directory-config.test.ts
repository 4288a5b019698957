// Per-tenant directory configuration (issue 12) over real HTTP and Postgres: the built-in kind
// round-trips; a webhook configuration is checked live against the reference receiver before it
// is saved (good secret saved sealed; a wrong secret is a 400 naming `secret`, an unreachable
// receiver a 502, and neither writes anything); GET and the audit event never carry the secret;
// bad bodies are 400s naming the field; another tenant's admin gets the same answer as for an
// unknown tenant; no secret reaches a log line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../boot/ports';
import { openSealedWith } from '../../infra/secrets';
import { directorySealPurpose } from '../../store/directories';
import { getTenantDirectory } from '../../store/tenant-directories';
import { auditEvents } from '../../testkit/inspect-audit';
import { seedPrincipal, seedTenant } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';

const SECRET = 'tenant-webhook-secret-0123456789abcdef';
let h: Harness;
let rx: WebhookReceiver;
/** Every API and worker log line of this file's engine, searched for the secrets at the end. */
const logLines: string[] = [];

before(async () => {
  h = await startHarness({ logLines });
  rx = await startWebhookReceiver({ wk1: SECRET });
});
after(async () => {
  await rx?.close();
  await h?.close();
});

const put = (tenantId: string, body: unknown, key?: string) => h.api('PUT', `/v1/admin/tenants/${tenantId}/directory`, { body, ...(key ? { key } : {}) });
const get = (tenantId: string, key?: string) => h.api('GET', `/v1/admin/tenants/${tenantId}/directory`, key ? { key } : {});
const webhook = (over: Record<string, unknown> = {}) => ({ kind: 'webhook', baseUrl: rx.url, keyId: 'wk1', secret: SECRET, ...over });

describe('saving a directory configuration', () => {
  it('a tenant with none reads as built-in; built-in saves and reads back', async () => {
    const t = await seedTenant(h, 'local');
    const none = await get(t);
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(
      { kind: none.body.kind, secretSet: none.body.secretSet, updatedAt: none.body.updatedAt },
      { kind: 'builtin', secretSet: false, updatedAt: null },
    );
    const saved = await put(t, { kind: 'builtin' });
    assert.equal(saved.status, 200, saved.text);
    const read = await get(t);
    assert.equal(read.body.kind, 'builtin');
    assert.equal(read.body.secretSet, false);
    assert.ok(read.body.updatedAt);
    assert.match(read.body.updatedBy, /^principal:/);
  });

  it('a webhook that verifies the signature is saved with its secret sealed; GET and the audit event never show it', async () => {
    const t = await seedTenant(h, 'local');
    const saved = await put(t, webhook());
    assert.equal(saved.status, 200, saved.text);
    assert.ok(!saved.text.includes(SECRET));
    const read = await get(t);
    assert.equal(read.status, 200, read.text);
    assert.ok(!read.text.includes(SECRET), 'GET must not return the secret');
    assert.equal(read.body.kind, 'webhook');
    assert.deepEqual(read.body.settings, { baseUrl: rx.url, keyId: 'wk1' });
    assert.equal(read.body.secretSet, true);
    assert.equal(read.body.sealedWith, h.config.tokenKeys[0].id);

    const row = await getTenantDirectory(h.db, t);
    assert.ok(row?.secretSealed && !row.secretSealed.includes(SECRET));
    assert.equal(openSealedWith(h.config.tokenKeys, row.secretKeyId, directorySealPurpose(t), row.secretSealed), SECRET);
    // Sealed for this tenant: the same ciphertext opens for no other.
    assert.equal(openSealedWith(h.config.tokenKeys, row.secretKeyId, directorySealPurpose('other'), row.secretSealed), null);

    const events = await auditEvents(h.db, { tenantId: t, action: 'directory.updated' });
    assert.equal(events.length, 1);
    assert.ok(!JSON.stringify(events[0]).includes(SECRET), 'the audit event must not carry the secret');
    assert.equal(events[0].details.secretSet, true);
  });

  it('a wrong secret is a 400 naming `secret` and saves nothing', async () => {
    const t = await seedTenant(h, 'local');
    const r = await put(t, webhook({ secret: 'not-the-receivers-secret-000000' }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'directory_auth_failed');
    assert.equal(r.body.error.details.field, 'secret');
    assert.ok(!r.text.includes('not-the-receivers-secret'));
    assert.equal(await getTenantDirectory(h.db, t), null);
    assert.equal((await auditEvents(h.db, { tenantId: t, action: 'directory.updated' })).length, 0);
  });

  it('an unreachable receiver is a 502 and saves nothing; a failing one (5xx) too', async () => {
    const t = await seedTenant(h, 'local');
    const r = await put(t, webhook({ baseUrl: `http://127.0.0.1:${await freePort()}` }));
    assert.equal(r.status, 502, r.text);
    assert.equal(r.body.error.code, 'directory_unreachable');
    rx.failNext('lookup', { kind: 'status', status: 503 });
    const failing = await put(t, webhook());
    assert.equal(failing.status, 502, failing.text);
    assert.equal(await getTenantDirectory(h.db, t), null);
  });

  it('a later save replaces the configuration, and built-in clears the secret', async () => {
    const t = await seedTenant(h, 'local');
    assert.equal((await put(t, webhook())).status, 200);
    assert.equal((await put(t, { kind: 'builtin' })).status, 200);
    const row = await getTenantDirectory(h.db, t);
    assert.deepEqual({ kind: row?.kind, sealed: row?.secretSealed, keyId: row?.secretKeyId }, { kind: 'builtin', sealed: null, keyId: null });
  });
});

describe('bad input is a 400 naming the field', () => {
  const cases: [string, unknown, string][] = [
    ['unknown kind', { kind: 'ldap' }, 'kind'],
    ['webhook without a secret', { kind: 'webhook', baseUrl: 'http://127.0.0.1:1', keyId: 'k' }, 'secret'],
    ['webhook with a short secret', { kind: 'webhook', baseUrl: 'http://127.0.0.1:1', keyId: 'k', secret: 'short' }, 'secret'],
    ['webhook with a non-http URL', { kind: 'webhook', baseUrl: 'ftp://x.example', keyId: 'k', secret: SECRET }, 'baseUrl'],
    ['webhook URL with credentials', { kind: 'webhook', baseUrl: 'http://u:p@x.example', keyId: 'k', secret: SECRET }, 'baseUrl'],
    ['keycloak with a bad realm', { kind: 'keycloak', baseUrl: 'http://127.0.0.1:1', realm: 'a/b', clientId: 'c', clientSecret: 's' }, 'realm'],
    ['keycloak without a client id', { kind: 'keycloak', baseUrl: 'http://127.0.0.1:1', realm: 'r', clientSecret: 's' }, 'clientId'],
    ['builtin with an extra field', { kind: 'builtin', secret: SECRET }, ''],
  ];
  for (const [name, body, field] of cases) {
    it(name, async () => {
      const t = await seedTenant(h, 'local');
      const r = await put(t, body);
      assert.equal(r.status, 400, r.text);
      assert.ok(r.body.error.code);
      if (field) assert.equal(r.body.error.details.field, field, r.text);
      else assert.ok(r.body.error.details.field);
      assert.ok(!r.text.includes(SECRET));
      assert.equal(await getTenantDirectory(h.db, t), null);
    });
  }
});

describe('tenant scope', () => {
  it("another tenant's admin gets the same answer as for an unknown tenant, and nothing is saved", async () => {
    const mine = await seedTenant(h, 'local');
    const theirs = await seedTenant(h, 'local');
    const admin = await seedPrincipal(h, ['admin'], [mine]);
    assert.equal((await get(mine, admin.key)).status, 200);
    for (const call of [(t: string) => get(t, admin.key), (t: string) => put(t, { kind: 'builtin' }, admin.key)]) {
      const other = await call(theirs);
      const unknown = await call('no-such-tenant');
      assert.equal(other.status, 403, other.text);
      assert.equal(other.status, unknown.status);
      assert.deepEqual(other.body, unknown.body);
    }
    assert.equal(await getTenantDirectory(h.db, theirs), null);
    const missing = await get('no-such-tenant');
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.body.error.code, 'tenant_not_found');
  });
});

describe('logs', () => {
  it('no log line carries a secret sent in this file, right or wrong', () => {
    assert.ok(logLines.length > 0, 'the engine logged');
    const all = logLines.join('\n');
    for (const s of [SECRET, 'not-the-receivers-secret']) assert.ok(!all.includes(s), `a log line carries ${s.slice(0, 8)}...`);
  });
});
