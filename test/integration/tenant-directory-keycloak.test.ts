// Saving a Keycloak directory configuration (issue 12) against the real Keycloak the test runner
// starts (deploy/keycloak/recovery-test-realm.json): a good client is checked live and saved with
// its secret sealed and never returned; a wrong secret, a wrong realm, a wrong URL and a client
// without realm-management roles are 400s naming the field; an unreachable server is a 502; none
// of the refusals writes anything. The saved directory's health endpoint checks it live: healthy,
// or a 200 with the typed problem (a saved realm that does not exist: directory_wrong_realm).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../boot/ports';
import { directorySealPurpose } from '../../store/directories';
import { sealSecret } from '../../infra/secrets';
import { getTenantDirectory, putTenantDirectory } from '../../store/tenant-directories';
import { auditEvents } from '../../testkit/inspect-audit';
import { seedTenant } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';

const REALM = 'recovery-test';
const ENGINE_SECRET = 'test-only-recovery-engine-secret';
const url = process.env.KEYCLOAK_URL ?? '';
const good = (over: Record<string, unknown> = {}) => ({
  kind: 'keycloak',
  baseUrl: url,
  realm: REALM,
  clientId: 'recovery-engine',
  clientSecret: ENGINE_SECRET,
  ...over,
});

let h: Harness;
before(async () => {
  assert.ok(url, 'KEYCLOAK_URL is set by scripts/test.ts for files named *keycloak*; run this file through npm test');
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const put = (tenantId: string, body: unknown) => h.api('PUT', `/v1/admin/tenants/${tenantId}/directory`, { body });

describe('a Keycloak directory is checked live before it is saved', () => {
  it('a good client is saved; GET and the audit event carry no secret', async () => {
    const t = await seedTenant(h, 'local');
    const saved = await put(t, good());
    assert.equal(saved.status, 200, saved.text);
    const read = await h.api('GET', `/v1/admin/tenants/${t}/directory`);
    assert.equal(read.body.kind, 'keycloak');
    assert.deepEqual(read.body.settings, { baseUrl: url, realm: REALM, clientId: 'recovery-engine' });
    assert.equal(read.body.secretSet, true);
    assert.ok(!read.text.includes(ENGINE_SECRET) && !saved.text.includes(ENGINE_SECRET));
    const row = await getTenantDirectory(h.db, t);
    assert.ok(row?.secretSealed && !row.secretSealed.includes(ENGINE_SECRET));
    const events = await auditEvents(h.db, { tenantId: t, action: 'directory.updated' });
    assert.equal(events.length, 1);
    assert.ok(!JSON.stringify(events[0]).includes(ENGINE_SECRET));
  });

  const refusals: [string, () => Promise<Record<string, unknown>>, number, string, string][] = [
    ['a wrong client secret', async () => good({ clientSecret: 'test-only-wrong-secret' }), 400, 'directory_auth_failed', 'clientSecret'],
    ['a realm that does not exist', async () => good({ realm: 'no-such-realm' }), 400, 'directory_wrong_realm', 'realm'],
    ['a URL that is not a Keycloak root', async () => good({ baseUrl: `${url}/auth` }), 400, 'directory_wrong_url', 'baseUrl'],
    [
      'a client without realm-management roles',
      async () => good({ clientId: 'recovery-engine-no-roles', clientSecret: 'test-only-no-roles-secret' }),
      400,
      'directory_forbidden',
      'clientId',
    ],
    ['a server that cannot be reached', async () => good({ baseUrl: `http://127.0.0.1:${await freePort()}` }), 502, 'directory_unreachable', 'baseUrl'],
  ];
  for (const [name, body, status, code, field] of refusals) {
    it(`${name}: ${status} ${code} naming ${field}, nothing saved`, async () => {
      const t = await seedTenant(h, 'local');
      const r = await put(t, await body());
      assert.equal(r.status, status, r.text);
      assert.equal(r.body.error.code, code);
      assert.equal(r.body.error.details.field, field);
      assert.ok(!r.text.includes('test-only-'), 'no secret in the answer');
      assert.equal(await getTenantDirectory(h.db, t), null);
      assert.equal((await auditEvents(h.db, { tenantId: t, action: 'directory.updated' })).length, 0);
    });
  }
});

describe('the health of a saved Keycloak directory', () => {
  const health = (t: string) => h.api('GET', `/v1/admin/tenants/${t}/directory/health`);

  it('a saved good client is healthy', async () => {
    const t = await seedTenant(h, 'local');
    assert.equal((await put(t, good())).status, 200);
    const r = await health(t);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual({ kind: r.body.kind, healthy: r.body.healthy, problem: r.body.problem }, { kind: 'keycloak', healthy: true, problem: null });
    assert.ok(!r.text.includes(ENGINE_SECRET));
  });

  it('a saved realm that no longer exists is a 200 with healthy: false and directory_wrong_realm', async () => {
    const t = await seedTenant(h, 'local');
    const key = h.config.tokenKeys[0];
    await putTenantDirectory(h.db, {
      tenantId: t,
      kind: 'keycloak',
      settings: { baseUrl: url, realm: 'realm-since-deleted', clientId: 'recovery-engine' },
      secretSealed: sealSecret(key.key, directorySealPurpose(t), ENGINE_SECRET),
      secretKeyId: key.id,
      updatedBy: 'test',
    });
    const r = await health(t);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.healthy, false);
    assert.deepEqual({ code: r.body.problem.code, field: r.body.problem.field }, { code: 'directory_wrong_realm', field: 'realm' });
    assert.ok(!r.text.includes(ENGINE_SECRET));
  });
});
