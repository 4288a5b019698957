// Issue 11, item 13: account ids sit in clear in workflow ids and the AccountId search attribute,
// outside the payload codec's reach, so an email address used as an account id would put
// personal data in Temporal visibility. Email-shaped ids are refused (400 naming the field)
// everywhere an account id enters: account import, recovery start, break-glass, login events,
// a principal's account binding, a tenant's designated break-glass account, and the built-in
// directory's sign-in. Stable ids still pass, and ops find an account's workflows by them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type ApiResponse, type Harness } from '../../testkit/engine';
import { until } from '../../testkit/wait';
import { accountEntry, CONTEXT, recoveryBody, seedAccount, seedIngestion, seedPrincipal, seedTenant, uniq } from '../../testkit/seed';

let h: Harness;
let tenantId: string;
let agentKey: string;
let ingestionKey: string;
before(async () => {
  h = await startHarness();
  tenantId = await seedTenant(h, 'local');
  agentKey = (await seedPrincipal(h, ['agent'], [tenantId])).key;
  ingestionKey = (await seedIngestion(h, [tenantId])).key;
});
after(async () => {
  await h?.close();
});

/** Email addresses, and email-like spellings of them. */
const EMAILISH = ['dana.whitfield@acme.test', 'dana@localhost', 'u-1001@', '@acme', 'dana＠acme.test', 'dana%40acme.test', 'dana(at)acme.test'];

function assertRefused(r: ApiResponse, field: string, what: string) {
  const ctx = `${what} -> ${r.status} ${r.text.slice(0, 400)}`;
  assert.equal(r.status, 400, ctx);
  assert.equal(r.body?.error?.code, 'invalid_field', ctx);
  assert.equal(r.body?.error?.details?.field, field, ctx);
}

async function workflowsOfAccount(accountId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of h.client.workflow.list({ query: `AccountId = '${accountId.replace(/'/g, "\\'")}'` })) ids.push(wf.workflowId);
  return ids;
}

describe('email-shaped account ids never reach Temporal visibility', () => {
  it('the account import refuses them, naming the entry, and stores nothing', async () => {
    for (const id of EMAILISH) {
      const r = await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, {
        body: { accounts: [accountEntry(tenantId, { externalId: 'u-ok-1' }), accountEntry(tenantId, { externalId: id, emails: ['dana@acme.test'] })] },
      });
      assertRefused(r, 'accounts.1.externalId', `import ${id}`);
    }
    const start = await h.api('POST', '/v1/recoveries', { key: agentKey, body: recoveryBody(tenantId, 'u-ok-1') });
    assert.equal(start.body?.reasons?.[0]?.code, 'account_not_found', `the valid entry of a refused import was not stored either: ${start.text}`);
  });

  it('a recovery start refuses them, and no workflow carries one', async () => {
    for (const id of EMAILISH) {
      assertRefused(await h.api('POST', '/v1/recoveries', { key: agentKey, body: recoveryBody(tenantId, id) }), 'accountId', `recovery ${id}`);
    }
    assert.deepEqual(await workflowsOfAccount(EMAILISH[0]), []);
  });

  it('a break-glass request refuses them as its target', async () => {
    for (const id of EMAILISH) {
      const body = { tenantId, target: { accountId: id }, justification: 'prod locked', ticketRef: 'INC-1', durationMinutes: 15 };
      assertRefused(await h.api('POST', '/v1/break-glass', { key: agentKey, body }), 'target.accountId', `break-glass ${id}`);
    }
  });

  it('a tenant refuses one as its designated break-glass account', async () => {
    const body = { id: uniq('t'), name: 'Email BG', authMode: 'local', breakGlassAccount: EMAILISH[0] };
    assertRefused(await h.api('POST', '/v1/admin/tenants', { body }), 'breakGlassAccount', 'tenant breakGlassAccount');
  });

  it('a login event refuses them', async () => {
    for (const id of EMAILISH) {
      const body = { tenantId, accountId: id, ...CONTEXT, success: true };
      assertRefused(await h.api('POST', '/v1/events/login', { key: ingestionKey, body }), 'accountId', `login event ${id}`);
    }
  });

  it("a principal's account binding refuses them", async () => {
    for (const id of EMAILISH) {
      const body = { name: uniq('p'), roles: ['approver'], tenantScope: [tenantId], email: 'ann@staff.test', account: { tenantId, accountId: id } };
      assertRefused(await h.api('POST', '/v1/admin/principals', { body }), 'account.accountId', `principal binding ${id}`);
    }
  });

  it("the built-in directory's sign-in refuses them", async () => {
    const body = { tenantId, accountId: EMAILISH[0], credential: 'bgc_x.' + 'A'.repeat(43) };
    assertRefused(await h.api('POST', '/v1/directory/sessions', { key: null, body }), 'accountId', 'directory session');
  });

  it('a stable id passes, and its workflow is found by the AccountId search attribute and the workflow id prefix', async () => {
    const accountId = await seedAccount(h, tenantId);
    const r = await h.api('POST', '/v1/recoveries', { key: agentKey, body: recoveryBody(tenantId, accountId) });
    assert.equal(r.status, 202, r.text);
    const workflowId = `recovery:${tenantId}:${accountId}:password_reset`;
    // Visibility is eventually consistent: wait for the workflow to be listed.
    await until('listed by AccountId', async () => (await workflowsOfAccount(accountId)).includes(workflowId));
    assert.deepEqual(await workflowsOfAccount(accountId), [workflowId]);
    const byPrefix: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowId STARTS_WITH 'recovery:${tenantId}:${accountId}:'` })) byPrefix.push(wf.workflowId);
    assert.deepEqual(byPrefix, [workflowId]);
  });
});
