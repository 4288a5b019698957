// Issue 11, item 15: no insecure defaults. An explicit mode is required; production needs https
// links and TLS to Temporal and SMTP (or an explicit, logged sidecar opt-out); an admin can
// disable and rotate an API key, within its own scope, and both are audited.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../infra/config';
import { startHarness, type Harness } from '../../testkit/engine';
import { auditEvents } from '../../testkit/inspect-audit';
import { seedPrincipal, seedTenant } from '../../testkit/seed';

const b64 = (n: number) => crypto.randomBytes(n).toString('base64');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-defaults-'));

/** A production environment with every transport encrypted. */
const prod = (over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
  NODE_ENV: 'production',
  DATA_DIR: dataDir,
  TOKEN_HMAC_KEYS: `k1:${b64(32)}`,
  KNOWLEDGE_HMAC_KEY: b64(32),
  PAYLOAD_CODEC_KEYS: `p1:${b64(32)}`,
  AUDIT_HMAC_KEYS: `a1:${b64(32)}`,
  AUDIT_HEAD_EXPORT_FILE: path.join(dataDir, 'audit-heads.jsonl'),
  DATABASE_URL: 'postgres://recovery:secret@db.internal:5432/recovery',
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
  TEMPORAL_TLS: 'true',
  SMTP_URL: 'smtps://mail.internal:465',
  PUBLIC_BASE_URL: 'https://recovery.example.com',
  ...over,
});

/** What the config names as plaintext transports, for the start-up warning. */
const plaintext = (c: object) => (c as { plaintextTransports?: string[] }).plaintextTransports;

function refused(env: NodeJS.ProcessEnv, variable: string) {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => err instanceof ConfigError && err.message.includes(variable),
    `expected a ConfigError naming ${variable}`,
  );
}

describe('the mode is explicit', () => {
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('a missing NODE_ENV refuses to start instead of meaning dev secrets and second-scale policy', () => {
    refused({ DATA_DIR: dataDir }, 'NODE_ENV');
    assert.equal(fs.existsSync(path.join(dataDir, 'dev-secrets.json')), false, 'no dev secrets were generated');
  });

  it('an explicit development mode still runs with no other configuration', () => {
    const c = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    assert.equal(c.production, false);
  });
});

describe('production encrypts every transport', () => {
  it('loads with https links, TLS to Temporal and SMTPS', () => {
    const c = loadConfig(prod());
    assert.deepEqual(plaintext(c), []);
  });

  it('refuses an http PUBLIC_BASE_URL', () => refused(prod({ PUBLIC_BASE_URL: 'http://recovery.example.com' }), 'PUBLIC_BASE_URL'));
  it('refuses plaintext Temporal', () => refused(prod({ TEMPORAL_TLS: undefined }), 'TEMPORAL_TLS'));
  it('refuses plaintext SMTP', () => refused(prod({ SMTP_URL: 'smtp://mail.internal:25' }), 'SMTP_URL'));
  it('accepts SMTP with STARTTLS required', () => assert.ok(loadConfig(prod({ SMTP_URL: 'smtp://mail.internal:587?requireTLS=true' }))));

  it('accepts plaintext Temporal and SMTP only with the explicit sidecar opt-out, and names them for the log', () => {
    const c = loadConfig(prod({ TEMPORAL_TLS: undefined, SMTP_URL: 'smtp://mail.internal:25', ALLOW_PLAINTEXT_TRANSPORT: 'sidecar' }));
    assert.deepEqual(plaintext(c), ['temporal', 'smtp']);
    refused(prod({ TEMPORAL_TLS: undefined, ALLOW_PLAINTEXT_TRANSPORT: 'yes' }), 'ALLOW_PLAINTEXT_TRANSPORT');
  });
});

describe('an admin disables and rotates API keys within its scope', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  const whoami = (key: string) => h.api('GET', `/v1/recoveries?tenantId=${encodeURIComponent('none')}`, { key });

  it('a disabled key is refused at once, and the change is audited', async () => {
    const tenantId = await seedTenant(h, 'local');
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    assert.notEqual((await whoami(agent.key)).status, 401);
    const r = await h.api('POST', `/v1/admin/principals/${agent.id}/disable`, { body: { reason: 'left the company' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, agent.id);
    assert.ok(r.body.disabledAt);
    assert.equal((await whoami(agent.key)).status, 401);
    const events = await auditEvents(h.db, { tenantId, action: 'principal.disabled' });
    assert.equal(events.length, 1);
    assert.equal(events[0].target, `principal:${agent.id}`);
  });

  it('a rotated key is shown once, works at once, and the old one stops', async () => {
    const tenantId = await seedTenant(h, 'local');
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const r = await h.api('POST', `/v1/admin/principals/${agent.id}/rotate-key`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const fresh = r.body.apiKey as string;
    assert.match(fresh, /^rk_/);
    assert.equal((await whoami(agent.key)).status, 401, 'the old key stops');
    assert.notEqual((await whoami(fresh)).status, 401, 'the new key works');
    assert.equal((await auditEvents(h.db, { tenantId, action: 'principal.key_rotated' })).length, 1);
    assert.ok(!JSON.stringify(await auditEvents(h.db, { tenantId, action: 'principal.key_rotated' })).includes(fresh), 'the key is not audited');
  });

  it('an admin scoped to a tenant cannot touch a principal outside its scope, nor learn it exists', async () => {
    const mine = await seedTenant(h, 'local');
    const theirs = await seedTenant(h, 'local');
    const admin = await seedPrincipal(h, ['admin'], [mine]);
    const victim = await seedPrincipal(h, ['agent'], [theirs]);
    for (const action of ['disable', 'rotate-key']) {
      const r = await h.api('POST', `/v1/admin/principals/${victim.id}/${action}`, {
        key: admin.key,
        body: action === 'disable' ? { reason: 'x' } : undefined,
      });
      assert.equal(r.status, 404, r.text);
      assert.equal(r.body.error.code, 'principal_not_found');
      const unknown = await h.api('POST', `/v1/admin/principals/prn_unknown0000000000/${action}`, {
        key: admin.key,
        body: action === 'disable' ? { reason: 'x' } : undefined,
      });
      assert.equal(unknown.status, 404, unknown.text);
    }
    assert.notEqual((await whoami(victim.key)).status, 401, 'the victim still works');
    const bootstrap = await h.api('POST', '/v1/admin/principals/prn_bootstrap/disable', { key: admin.key, body: { reason: 'takeover' } });
    assert.equal(bootstrap.status, 404, 'a tenant admin cannot disable the deployment admin');
  });
});
