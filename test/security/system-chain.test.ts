// Issue 11, item 11: the `_system` audit chain (events of `*`-scoped principals, such as creating
// a principal with scope `*` or the bootstrap admin) is exportable and verifiable by a `*`-scoped
// auditor, and by nobody else.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

describe('the _system chain', () => {
  it('a *-scoped auditor exports it and verifies it', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    const exported = await h.api('GET', '/v1/audit?tenantId=_system', { key: auditor.key });
    assert.equal(exported.status, 200, exported.text);
    const actions = (exported.body.events as Array<{ action: string; target: string }>).map((e) => `${e.action} ${e.target}`);
    assert.ok(actions.includes('principal.bootstrapped principal:prn_bootstrap'), actions.join('\n'));
    assert.ok(actions.includes(`principal.created principal:${auditor.id}`), actions.join('\n'));
    const csv = await h.api('GET', '/v1/audit?tenantId=_system&format=csv', { key: auditor.key });
    assert.equal(csv.status, 200, csv.text);
    const verdict = await h.api('GET', '/v1/audit/verify?tenantId=_system', { key: auditor.key });
    assert.equal(verdict.status, 200, verdict.text);
    assert.equal(verdict.body.tenantId, '_system');
    assert.equal(verdict.body.valid, true, verdict.text);
    assert.ok(verdict.body.events >= 2, verdict.text);
  });

  it('an auditor scoped to tenants, and a *-scoped admin without the auditor role, may not', async () => {
    const tenantId = await seedTenant(h, 'local');
    const tenantAuditor = await seedPrincipal(h, ['auditor'], [tenantId]);
    const starAdmin = await seedPrincipal(h, ['admin'], ['*']);
    for (const key of [tenantAuditor.key, starAdmin.key, h.adminKey]) {
      for (const path of ['/v1/audit?tenantId=_system', '/v1/audit/verify?tenantId=_system']) {
        const r = await h.api('GET', path, { key });
        assert.equal(r.status, 403, `${path}: ${r.text}`);
        assert.equal(r.body.error.code, 'system_chain_forbidden', r.text);
      }
    }
    // Their own tenants' chains stay theirs.
    assert.equal((await h.api('GET', `/v1/audit/verify?tenantId=${tenantId}`, { key: tenantAuditor.key })).status, 200);
  });

  it('other ids that are not tenant ids stay a 400 naming the field', async () => {
    const auditor = await seedPrincipal(h, ['auditor'], ['*']);
    for (const id of ['_System', '_other', 'system_']) {
      const r = await h.api('GET', `/v1/audit/verify?tenantId=${id}`, { key: auditor.key });
      assert.equal(r.status, 400, `${id}: ${r.text}`);
      assert.match(r.text, /tenantId/);
    }
  });
});
