// Issue 11, item 3: account import creates accounts and never takes one over. An existing
// externalId in an import is refused and left unchanged; an existing account's addresses,
// knowledge answers and role change only through the audited admin change route, which notifies
// every old and new address and never sets a password.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkKnowledge, checkPassword, findAccount, registeredAddresses } from '../../store/directory';
import { startHarness, type Harness } from '../../testkit/engine';
import { found, passwordCredentialOf } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { accountEntry, KNOWLEDGE, OLD_PASSWORD, seedAccount, seedPrincipal, seedTenant, uniq } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const ATTACKER = { email: 'mallory@evil.test', password: 'attacker-chosen-passphrase-1', knowledge: { card_last4: '0000', postcode: 'EV1 1L' } };
const importInto = (tenantId: string, accounts: unknown[], key?: string) =>
  h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { key, body: { accounts } });
const change = (tenantId: string, accountId: string, body: Record<string, unknown>, key?: string) =>
  h.api('PATCH', `/v1/admin/tenants/${tenantId}/accounts/${accountId}`, { key, body });

async function addressesOf(tenantId: string, accountId: string) {
  const a = found(await findAccount(h.db, tenantId, accountId), accountId);
  return (await registeredAddresses(h.db, a.id)).map((x) => x.email).sort();
}

describe('re-importing an existing externalId', () => {
  it("is refused and changes nothing: the attacker's password, address and answers do not take the account over", async () => {
    const tenantId = await seedTenant(h, 'local');
    const victim = await seedAccount(h, tenantId);
    const before = await addressesOf(tenantId, victim);
    // An insider with the admin role re-imports the victim with their own address, answers and password.
    const r = await importInto(tenantId, [
      { ...accountEntry(tenantId, { externalId: victim }), emails: [ATTACKER.email], knowledge: ATTACKER.knowledge, password: ATTACKER.password },
    ]);
    assert.equal(await checkPassword(h.db, tenantId, victim, ATTACKER.password), false, "the attacker's password must not work");
    assert.equal(await checkPassword(h.db, tenantId, victim, OLD_PASSWORD), true, "the owner's password still works");
    assert.deepEqual(await addressesOf(tenantId, victim), before, 'reset mail still goes to the owner only');
    assert.equal(
      (await checkKnowledge(h.db, h.config.knowledgeKey, { tenantId, accountId: victim }, ATTACKER.knowledge, null)).passed,
      false,
      "the attacker's answers fail Tier 1",
    );
    assert.equal((await checkKnowledge(h.db, h.config.knowledgeKey, { tenantId, accountId: victim }, KNOWLEDGE, null)).passed, true);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { created: 0, existing: [victim] });
    const [audited] = await auditEvents(h.db, { tenantId, action: 'accounts.imported' }).then((e) => e.slice(-1));
    assert.deepEqual((audited.details as { existing: string[] }).existing, [victim], 'the refused id is in the audit event');
  });

  it('an SSO-managed account re-imported with a password gets none', async () => {
    const tenantId = await seedTenant(h, 'mixed');
    const victim = await seedAccount(h, tenantId, { authMethod: 'sso', password: null });
    const r = await importInto(tenantId, [{ ...accountEntry(tenantId, { externalId: victim }), authMethod: 'local', password: ATTACKER.password }]);
    const acct = found(await findAccount(h.db, tenantId, victim), victim);
    assert.equal(await passwordCredentialOf(h.db, acct.id), undefined, 'no local password for an SSO-managed account');
    assert.equal(acct.auth_method, 'sso');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.existing, [victim]);
  });

  it('a batch mixing new and existing ids creates the new ones and lists the existing ones', async () => {
    const tenantId = await seedTenant(h, 'local');
    const old = await seedAccount(h, tenantId);
    const fresh = uniq('u');
    const r = await importInto(tenantId, [accountEntry(tenantId, { externalId: fresh }), accountEntry(tenantId, { externalId: old, role: 'admin' })]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { created: 1, existing: [old] });
    assert.equal(found(await findAccount(h.db, tenantId, old), old).role, 'standard', 'the existing account keeps its role');
    assert.ok(await findAccount(h.db, tenantId, fresh));
  });

  it('two concurrent imports of one new id create it once; the other lists it as existing', async () => {
    const tenantId = await seedTenant(h, 'local');
    const id = uniq('u');
    const [a, b] = await Promise.all([
      importInto(tenantId, [accountEntry(tenantId, { externalId: id })]),
      importInto(tenantId, [accountEntry(tenantId, { externalId: id })]),
    ]);
    assert.deepEqual([a.body.created, b.body.created].sort(), [0, 1], `${a.text} ${b.text}`);
    assert.deepEqual([...a.body.existing, ...b.body.existing], [id]);
  });

  it('a new SSO-managed account cannot be imported with a password (400 naming accounts.0.password)', async () => {
    const tenantId = await seedTenant(h, 'mixed');
    const r = await importInto(tenantId, [{ ...accountEntry(tenantId, { externalId: uniq('u'), authMethod: 'sso' }), password: ATTACKER.password }]);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.details.field, 'accounts.0.password');
  });
});

describe('the admin change route', () => {
  it('changes addresses, answers and role, mails every old and new address, and audits it', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const old = await addressesOf(tenantId, accountId);
    const next = [`${accountId}.new@example.test`, old[0]];
    const r = await change(tenantId, accountId, { emails: next, knowledge: { pet: 'rex' }, role: 'finance', reason: 'HR ticket 77: new personal address' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.state, 'applied');
    assert.deepEqual(await addressesOf(tenantId, accountId), [...next].sort());
    assert.equal((await checkKnowledge(h.db, h.config.knowledgeKey, { tenantId, accountId }, { pet: 'rex' }, null)).passed, true);
    assert.equal((await checkKnowledge(h.db, h.config.knowledgeKey, { tenantId, accountId }, { card_last4: KNOWLEDGE.card_last4 }, null)).passed, false);
    assert.equal(found(await findAccount(h.db, tenantId, accountId), accountId).role, 'finance');
    for (const address of new Set([...old, ...next])) {
      await h.sink.waitFor((m) => m.to.includes(address) && m.subject.includes('account was changed'), 15_000);
    }
    const events = await auditEvents(h.db, { tenantId, caseId: r.body.id });
    assert.ok(
      events.some((e) => e.action === 'account.changed'),
      events.map((e) => e.action).join(','),
    );
    assert.ok(events.some((e) => e.action === 'account.change_notified'));
    assert.equal(await checkPassword(h.db, tenantId, accountId, OLD_PASSWORD), true, 'the password is untouched');
  });

  it('never sets a password or the sign-in method (400 naming the field), SSO-managed or not', async () => {
    const tenantId = await seedTenant(h, 'mixed');
    for (const authMethod of ['sso', 'local'] as const) {
      const accountId = await seedAccount(h, tenantId, { authMethod, password: authMethod === 'sso' ? null : undefined });
      for (const [fieldName, value] of [
        ['password', ATTACKER.password],
        ['authMethod', 'local'],
      ] as const) {
        const r = await change(tenantId, accountId, { [fieldName]: value, reason: 'try it' });
        assert.equal(r.status, 400, `${authMethod} ${fieldName}: ${r.text}`);
        assert.equal(r.body.error.details.field, fieldName);
      }
      if (authMethod === 'sso') assert.equal(await passwordCredentialOf(h.db, found(await findAccount(h.db, tenantId, accountId), accountId).id), undefined);
    }
  });

  it('stays inside the admin scope (403) and answers 404 for an unknown account', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const outsider = await seedPrincipal(h, ['admin'], [await seedTenant(h, 'local')]);
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    assert.equal((await change(tenantId, accountId, { emails: [ATTACKER.email], reason: 'x' }, outsider.key)).status, 403);
    assert.equal((await change(tenantId, accountId, { emails: [ATTACKER.email], reason: 'x' }, agent.key)).status, 403);
    const missing = await change(tenantId, uniq('nobody'), { emails: [ATTACKER.email], reason: 'x' });
    assert.equal(missing.status, 404, missing.text);
    assert.deepEqual(await addressesOf(tenantId, accountId), [`${accountId}.home@example.test`, `${accountId}@${tenantId}.test`].sort());
  });
});
