// Issue 11 item 10: Tier 3 possession links of an MFA reset. Each submission mails a new link;
// the earlier ones must stop working (one live link per recovery), and the re-sends are capped
// (a mailbox flood, and more live links for whoever reads the owner's mail).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SinkMessage } from '../../dev/mail-sink';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { tokensOf } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant, setPolicy } from '../../testkit/seed';
import { sleep, until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** An MFA reset in `verifying`, and a way to submit Tier 3 and read the link it mailed. */
async function mfaReset(policy?: Record<string, unknown>) {
  const tenantId = await seedTenant(h, 'local');
  if (policy) await setPolicy(h, tenantId, policy);
  const accountId = await seedAccount(h, tenantId, { mfa: true });
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const recovery = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body;
  await until('verifying', async () => (await recovery()).state === 'verifying');
  const isConfirm = (m: SinkMessage) => m.subject.startsWith('Confirm your') && m.to[0] === `${accountId}@${tenantId}.test`;
  const confirmMails = () => h.sink.list().filter(isConfirm);
  const submit = () => h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'email' } });
  /** Submits Tier 3 and returns the token of the link it mailed. */
  async function sendLink(): Promise<string> {
    const before = new Set(confirmMails().map((m) => m.id));
    const r = await submit();
    assert.equal(r.status, 200, r.text);
    return tokenFrom(await h.sink.waitFor((m) => isConfirm(m) && !before.has(m.id)));
  }
  const describeLink = async (token: string) => (await h.api('GET', `/v1/links/${token}?tenant=${tenantId}`, { key: null })).status;
  const redeem = (token: string) => h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId } });
  return { id, tenantId, recovery, submit, sendLink, confirmMails, describeLink, redeem };
}

describe('a new Tier 3 possession link ends the earlier ones', () => {
  it('after the second link is sent the first is invalid; the newest one passes Tier 3', async () => {
    const r = await mfaReset();
    const first = await r.sendLink();
    assert.equal(await r.describeLink(first), 200);
    const second = await r.sendLink();
    assert.equal(await r.describeLink(first), 404, 'the first link stops working once the second is sent');
    assert.equal(await r.describeLink(second), 200);
    const old = await r.redeem(first);
    assert.equal(old.status, 404, old.text);
    assert.equal(old.body.error.code, 'link_invalid');
    assert.equal((await r.recovery()).tiers.passed.includes(3), false, 'an old link never passes Tier 3');
    const used = await r.redeem(second);
    assert.equal(used.status, 200, used.text);
    await until('tier 3 passed', async () => (await r.recovery()).tiers.passed.includes(3));
  });
});

describe('Tier 3 possession links are capped per recovery', () => {
  it('after 3 links a 4th submission sends nothing, answers 429 possession_link_limit, and the last link still works', async () => {
    const r = await mfaReset();
    const tokens = [await r.sendLink(), await r.sendLink(), await r.sendLink()];
    const fourth = await r.submit();
    assert.equal(fourth.status, 429, fourth.text);
    assert.equal(fourth.body.error.code, 'possession_link_limit');
    await sleep(500);
    assert.equal(r.confirmMails().length, 3, 'no fourth link was mailed');
    assert.deepEqual(await Promise.all(tokens.map((t) => r.describeLink(t))), [404, 404, 200], 'only the newest link is live');
    assert.equal((await auditEvents(h.db, { caseId: r.id, action: 'link.resend_refused' })).length, 1, 'the refusal is audited');
    assert.equal((await r.recovery()).state, 'verifying', 'the recovery goes on');
    const used = await r.redeem(tokens[2]);
    assert.equal(used.status, 200, used.text);
    await until('tier 3 passed', async () => (await r.recovery()).tiers.passed.includes(3));
  });

  it('five concurrent submissions mail at most 3 links, and exactly one of them is live', async () => {
    const r = await mfaReset();
    const answers = await Promise.all(Array.from({ length: 5 }, () => r.submit()));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 429, 429], answers.map((a) => a.text).join('\n'));
    await until('3 mails', async () => r.confirmMails().length === 3);
    const tokens = await tokensOf(h.db, r.id, 'verify_possession');
    assert.equal(tokens.filter((t) => t.used_at === null && t.invalidated_at === null).length, 1, 'one live possession link');
  });

  it("the cap is the tenant policy's maxPossessionLinks", async () => {
    const r = await mfaReset({ maxPossessionLinks: 1 });
    const only = await r.sendLink();
    const again = await r.submit();
    assert.equal(again.status, 429, again.text);
    assert.equal(r.confirmMails().length, 1);
    assert.equal(await r.describeLink(only), 200, 'a refused re-send leaves the live link alone');
  });
});
