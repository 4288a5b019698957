// Link expiry at the real 15 minutes, on the time-skipping test server: the workflow's timer
// ends the link, whatever the wall clock says.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPassword } from '../../store/directory';
import { startHarness, type Harness } from '../../testkit/engine';
import { found, recoveryRow, tokensOf } from '../../testkit/inspect';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { historyText } from '../../testkit/history';
import { KNOWLEDGE, recoveryBody, seedAccount, seedPrincipal, seedTenant } from '../../testkit/seed';

const NEW_PASSWORD = 'amber-heron-follows-31-rivers';
let h: Harness;

before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.close();
});

async function linkIssued() {
  const tenantId = await seedTenant(h, 'local');
  const accountId = await seedAccount(h, tenantId);
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
  assert.equal(v.body.passed, true, v.text);
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to[0].startsWith(`${accountId}@`));
  const state = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body;
  await until('awaiting completion', async () => (await state()).state === 'awaiting_completion');
  return { tenantId, accountId, id, token: tokenFrom(mail), state };
}

describe('an emailed link lives exactly its 15 minutes', () => {
  it('still works at minute 14', async () => {
    const { tenantId, accountId, token, state } = await linkIssued();
    await h.testEnv!.sleep('14 minutes');
    const s = await state();
    assert.equal(s.state, 'awaiting_completion');
    assert.equal((await h.api('GET', `/v1/links/${token}`, { key: null })).status, 200);
    const r = await h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId, newPassword: NEW_PASSWORD } });
    assert.equal(r.status, 200, r.text);
    await until('completion', async () => (await state()).state === 'completed');
    assert.equal(await checkPassword(h.db, tenantId, accountId, NEW_PASSWORD), true);
  });

  it('is dead after 15 minutes: the recovery expires and the link is refused', async () => {
    const { tenantId, accountId, id, token, state } = await linkIssued();
    await h.testEnv!.sleep('15 minutes');
    await h.testEnv!.sleep('5 seconds');
    await until('expiry', async () => (await state()).state === 'expired');
    assert.equal((await h.api('GET', `/v1/links/${token}`, { key: null })).status, 404);
    const r = await h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId, newPassword: NEW_PASSWORD } });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'link_invalid');
    assert.equal(await checkPassword(h.db, tenantId, accountId, NEW_PASSWORD), false);
    const tok = found((await tokensOf(h.db, id))[0], `token of ${id}`);
    assert.equal(tok.invalidated_reason, 'expired');
    assert.equal(tok.used_at, null);
    const row = await recoveryRow(h.db, id);
    const hist = await historyText(h, row.workflow_id, row.run_id ?? undefined);
    assert.ok(hist.includes(`"recoveryId":"${id}"`), 'control: decoded payloads are searched');
    assert.ok(!hist.includes(token.split('.')[1]), 'the token never enters history');
    assert.ok(!hist.includes(tok.token_hash), 'nor its hash');
  });
});
