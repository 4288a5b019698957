// Issue 16 items 3, 4 and 6, over real HTTP against the real engine: free text carrying control,
// bidi or zero-width characters is refused naming the field, and a tenant name stored before that
// rule reaches the reset email neutralised (subject on one line, no bidi or zero-width characters);
// account external ids are unique case-insensitively within a tenant unless it opted into
// case-sensitive ids (and migration 0014 opts in tenants that already held case-only duplicates); login event times are bounded by the history window and the clock skew.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type ApiResponse, type Harness } from '../../testkit/engine';
import { directoryBackends, WEBHOOK_SECRET } from '../../testkit/directory-backends';
import { tenantRow } from '../../testkit/inspect';
import { storeTenantNameUnchecked, upgradeOverLegacyAccountIds } from '../../testkit/faults';
import { isResetLinkTo } from '../../testkit/mail';
import { startWebhookReceiver } from '../../testkit/webhook-receiver';
import { accountEntry, KNOWLEDGE, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant, uniq } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** The attack of the issue: a right-to-left override, a zero-width joiner and a CRLF in a name. */
const EVIL = 'Acme \u202Eeman\u200D\r\nIT desk: call +1 555 0100';
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;

function refused(r: ApiResponse, field: string) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'invalid_characters', r.text);
  assert.equal(r.body.error.details.field, field, r.text);
}

describe('free text that reaches emails, exports or the UI', () => {
  it('a tenant name with a bidi override, a zero-width joiner and CRLF is refused, naming the field', async () => {
    const id = uniq('t');
    refused(await h.api('POST', '/v1/admin/tenants', { body: { id, name: EVIL, authMode: 'local' } }), 'name');
  });

  it('principal names, display names, reasons, ticket refs and labels refuse the same characters', async () => {
    const tenantId = await seedTenant(h, 'local');
    refused(await h.api('POST', '/v1/admin/principals', { body: { name: 'ops\u2066bot', roles: ['agent'], tenantScope: [tenantId] } }), 'name');
    const entry = { ...accountEntry(tenantId, { externalId: uniq('u') }), displayName: 'Ann\u200BBrown' };
    refused(await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts: [entry] } }), 'accounts.0.displayName');
    const labelled = { ...accountEntry(tenantId, { externalId: uniq('u') }), mfaFactors: [{ type: 'totp', label: 'phone\u202E' }] };
    refused(await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts: [labelled] } }), 'accounts.0.mfaFactors.0.label');
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const start = (over: Record<string, unknown>) => h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, 'u-1', over) });
    refused(await start({ reason: 'locked out\r\nBcc: x@evil.test' }), 'reason');
    refused(await start({ ticketRef: 'T-\u200F1' }), 'ticketRef');
  });

  it('a tenant name stored before the rule reaches the reset email neutralised', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
    await storeTenantNameUnchecked(h.ownerDb, tenantId, EVIL);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    assert.equal(created.status, 202, created.text);
    const v = await h.api('POST', `/v1/recoveries/${created.body.id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
    assert.equal(v.status, 200, v.text);
    const mail = await h.sink.waitFor(isResetLinkTo(`${accountId}@${tenantId}.test`), 30_000);
    assert.doesNotMatch(mail.subject, UNSAFE, `subject ${JSON.stringify(mail.subject)}`);
    assert.doesNotMatch(mail.text.replace(/\r?\n/g, ''), UNSAFE, `body ${JSON.stringify(mail.text)}`);
    assert.ok(!mail.text.split(/\r?\n/).some((l) => l.startsWith('IT desk')), `the name's CRLF started a line of its own: ${JSON.stringify(mail.text)}`);
    assert.match(mail.subject, /Acme eman/);
  });
});

describe('account external ids within a tenant', () => {
  const importOne = (tenantId: string, externalIds: string[]) =>
    h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts: externalIds.map((externalId) => accountEntry(tenantId, { externalId })) } });

  it('an id differing from an existing one only in case is refused at import, naming the field', async () => {
    const tenantId = await seedTenant(h, 'local');
    const first = await importOne(tenantId, ['case-d']);
    assert.equal(first.status, 200, first.text);
    const again = await importOne(tenantId, ['CASE-D']);
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.error.code, 'account_id_case_duplicate', again.text);
    assert.equal(again.body.error.details.field, 'accounts.0.externalId', again.text);
    const exact = await importOne(tenantId, ['case-d']);
    assert.deepEqual([exact.status, exact.body.existing], [200, ['case-d']], exact.text);
    // Lookups are exact: the id as stored, not a case variant of it.
    const key = (await seedIngestion(h, [tenantId])).key;
    const login = (accountId: string) => h.api('POST', '/v1/events/login', { key, body: { tenantId, accountId, ip: '203.0.113.9', success: true } });
    assert.equal((await login('case-d')).status, 202);
    assert.equal((await login('CASE-D')).status, 404);
  });

  it('a case-only duplicate inside one import is refused and nothing of the import is kept', async () => {
    const tenantId = await seedTenant(h, 'local');
    const r = await importOne(tenantId, ['case-e', 'Case-E']);
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.error.details.field, 'accounts.1.externalId', r.text);
    assert.equal((await importOne(tenantId, ['case-e'])).body.created, 1);
  });

  it('a tenant that opted into case-sensitive ids keeps case-only variants apart', async () => {
    const tenantId = uniq('t');
    const t = await h.api('POST', '/v1/admin/tenants', { body: { id: tenantId, name: 'Case Co', authMode: 'local', caseSensitiveAccountIds: true } });
    assert.equal(t.status, 201, t.text);
    assert.equal(t.body.caseSensitiveAccountIds, true, t.text);
    assert.equal((await importOne(tenantId, ['case-d'])).body.created, 1);
    assert.equal((await importOne(tenantId, ['CASE-D'])).body.created, 1);
  });

  it('the upgrade opts a tenant already holding case-only duplicates into case-sensitive ids, and no other', async () => {
    const legacy = await seedTenant(h, 'local');
    const clean = await seedTenant(h, 'local');
    await upgradeOverLegacyAccountIds(h.ownerDb, legacy, ['dup-a', 'DUP-A']);
    await upgradeOverLegacyAccountIds(h.ownerDb, clean, ['solo-a']);
    assert.equal((await tenantRow(h.db, legacy)).case_sensitive_account_ids, true);
    assert.equal((await tenantRow(h.db, clean)).case_sensitive_account_ids, false);
    assert.equal((await importOne(legacy, ['Dup-A'])).body.created, 1);
    const r = await importOne(clean, ['SOLO-A']);
    assert.equal(r.status, 409, r.text);
  });

  it('a remote directory answering for a case variant of a mirrored account is refused, naming accountId', async () => {
    const receiver = await startWebhookReceiver({ 'suite-key': WEBHOOK_SECRET });
    try {
      const { tenantId } = await directoryBackends(h, receiver).webhook();
      receiver.addAccount('rem-a');
      receiver.addAccount('REM-A');
      const key = (await seedIngestion(h, [tenantId])).key;
      const login = (accountId: string) => h.api('POST', '/v1/events/login', { key, body: { tenantId, accountId, ip: '203.0.113.9', success: true } });
      assert.equal((await login('rem-a')).status, 202);
      const r = await login('REM-A');
      assert.equal(r.status, 409, r.text);
      assert.deepEqual([r.body.error.code, r.body.error.details.field], ['account_id_case_duplicate', 'accountId'], r.text);
    } finally {
      await receiver.close();
    }
  });

  it('ids are compared exactly apart from case: u-l001 and u-1001 are different accounts', async () => {
    const tenantId = await seedTenant(h, 'local');
    const r = await importOne(tenantId, ['u-1001', 'u-l001']);
    assert.equal(r.body.created, 2, r.text);
  });
});

describe('login event times', () => {
  async function loginAt(at: string) {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId, { password: null });
    const key = (await seedIngestion(h, [tenantId])).key;
    return h.api('POST', '/v1/events/login', { key, body: { tenantId, accountId, at, ip: '203.0.113.9', success: true } });
  }
  const day = 86_400_000;

  for (const at of ['0000-01-01T00:00:00Z', '1970-01-01T00:00:00Z', new Date(Date.now() - 401 * day).toISOString(), '9999-12-31T23:59:59Z']) {
    it(`an event at ${at} is refused, naming at`, async () => {
      const r = await loginAt(at);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.details.field, 'at', r.text);
    });
  }

  it('an event within the history window is recorded', async () => {
    const r = await loginAt(new Date(Date.now() - 399 * day).toISOString());
    assert.equal(r.status, 202, r.text);
  });

  it('audit and recovery-list time filters outside 1970-9999 are refused, naming the parameter', async () => {
    const tenantId = await seedTenant(h, 'local');
    const audit = await h.api('GET', `/v1/audit?tenantId=${tenantId}&from=0000-01-01T00:00:00Z`);
    assert.equal(audit.status, 400, audit.text);
    assert.equal(audit.body.error.details.field, 'query.from', audit.text);
    const list = await h.api('GET', `/v1/recoveries?tenantId=${tenantId}&before=0000-01-01T00:00:00Z`);
    assert.equal(list.status, 400, list.text);
    assert.equal(list.body.error.details.field, 'query.before', list.text);
  });
});
