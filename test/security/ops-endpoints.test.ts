// Issue 11, item 14: the ops endpoints. `/metrics` answers only a `*`-scoped principal with the
// `metrics` (scraper) or `admin` role; anyone else, or no key, gets 401/403. The codec decodes
// (and encodes) payloads of every tenant, so only `*`-scoped auditors and admins may call it: a
// tenant-scoped auditor or admin gets 403 and learns nothing of the payload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
let tenantId: string;
before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
});
after(async () => {
  await h?.close();
});

const SECRET = 'Dana Whitfield, +44 20 7946 0958';
const plain = {
  payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify(SECRET)).toString('base64') }],
};

describe('/metrics needs a scraper key', () => {
  it('no key: 401, and no metric in the answer', async () => {
    const r = await h.api('GET', '/metrics', { key: null });
    assert.equal(r.status, 401, r.text.slice(0, 300));
    assert.doesNotMatch(r.text, /recovery_/);
  });

  it('tenant-scoped principals, and `*` principals without the metrics or admin role: 403', async () => {
    for (const [roles, scope] of [
      [['agent'], [tenantId]],
      [['auditor'], [tenantId]],
      [['admin'], [tenantId]],
      [['metrics'], [tenantId]],
      [['auditor', 'agent', 'reviewer'], ['*']],
    ] as [string[], string[]][]) {
      const p = await seedPrincipal(h, roles, scope);
      const r = await h.api('GET', '/metrics', { key: p.key });
      assert.equal(r.status, 403, `${roles.join('+')} ${scope.join(',')}: ${r.status} ${r.text.slice(0, 300)}`);
      assert.doesNotMatch(r.text, /recovery_/);
    }
  });

  it('a `*` metrics principal and a `*` admin read the metrics', async () => {
    const scraper = await seedPrincipal(h, ['metrics'], ['*']);
    for (const key of [scraper.key, h.adminKey]) {
      const r = await h.api('GET', '/metrics', { key });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(r.text, /recovery_api_process_resident_memory_bytes/);
    }
  });

  it('the metrics role grants nothing else', async () => {
    const scraper = await seedPrincipal(h, ['metrics'], ['*']);
    assert.equal((await h.api('GET', `/v1/audit?tenantId=${tenantId}`, { key: scraper.key })).status, 403);
    assert.equal((await h.api('GET', `/v1/recoveries?tenantId=${tenantId}`, { key: scraper.key })).status, 403);
    assert.equal((await h.api('POST', '/codec/decode', { key: scraper.key, body: plain })).status, 403);
  });
});

describe('the codec is for `*`-scoped auditors and admins only', () => {
  it("a tenant-scoped auditor or admin cannot decode another tenant's (or any) payload: 403", async () => {
    const global = await seedPrincipal(h, ['auditor'], ['*']);
    const encoded = await h.api('POST', '/codec/encode', { key: global.key, body: plain });
    assert.equal(encoded.status, 200, encoded.text);
    assert.ok(!Buffer.from(encoded.body.payloads[0].data, 'base64').toString('latin1').includes('Dana'), 'encode encrypts');
    for (const roles of [['auditor'], ['admin']]) {
      const p = await seedPrincipal(h, roles, [tenantId]);
      for (const op of ['decode', 'encode']) {
        const r = await h.api('POST', `/codec/${op}`, { key: p.key, body: op === 'decode' ? encoded.body : plain });
        assert.equal(r.status, 403, `${roles[0]} scoped to ${tenantId} on /codec/${op}: ${r.status} ${r.text.slice(0, 300)}`);
        assert.ok(!r.text.includes('Dana'), 'nothing of the payload comes back');
      }
    }
  });

  it('a `*` auditor and a `*` admin decode', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const encoded = await h.api('POST', '/codec/encode', { key: auditor.key, body: plain });
    for (const key of [auditor.key, h.adminKey]) {
      const r = await h.api('POST', '/codec/decode', { key, body: encoded.body });
      assert.equal(r.status, 200, r.text);
      assert.equal(JSON.parse(Buffer.from(r.body.payloads[0].data, 'base64').toString('utf8')), SECRET);
    }
  });
});
