// Issue 11 item 8: Tier 1 must not pass on a subset of the knowledge factors. The attacker (a
// caller who knows only the easiest answer, or an agent helping them) answers one factor of two.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { KNOWLEDGE, recoveryBody, seedLocalAccount, setPolicy } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A password reset of a seeded account (enrolled factors: card_last4 and postcode) in `verifying`. */
async function verifying(policy?: Record<string, unknown>) {
  const s = await seedLocalAccount(h);
  if (policy) await setPolicy(h, s.tenantId, policy);
  const created = await h.api('POST', '/v1/recoveries', { key: s.agent.key, body: recoveryBody(s.tenantId, s.accountId) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  await until('verifying', async () => (await recovery(s.agent.key, id)).state === 'verifying');
  return { ...s, id };
}

async function recovery(key: string, id: string) {
  const r = await h.api('GET', `/v1/recoveries/${id}`, { key });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const tier1 = (key: string, id: string, answers: Record<string, string>) =>
  h.api('POST', `/v1/recoveries/${id}/verifications`, { key, body: { tier: 1, answers } });

describe('Tier 1 requires every factor the policy names (default: every enrolled one)', () => {
  it('answering only the easiest factor does not pass: 400 naming the missing factor, no attempt counted', async () => {
    const s = await verifying();
    const partial = await tier1(s.agent.key, s.id, { card_last4: KNOWLEDGE.card_last4 });
    assert.equal(partial.status, 400, `a partial answer must not pass Tier 1: ${partial.text}`);
    assert.equal(partial.body.error.code, 'knowledge_factors_missing');
    assert.equal(partial.body.error.details.field, 'answers.postcode');
    assert.deepEqual(partial.body.error.details.missing, ['answers.postcode']);
    const after = await recovery(s.agent.key, s.id);
    assert.equal(after.state, 'verifying');
    assert.deepEqual(after.tiers.passed, [], 'tier 1 is not passed');
    assert.equal(after.tiers.failedAttempts, 0, 'a refused submission checks nothing and counts no attempt');
    // Every enrolled factor answered: it passes.
    const full = await tier1(s.agent.key, s.id, KNOWLEDGE);
    assert.equal(full.status, 200, full.text);
    assert.equal(full.body.passed, true);
  });

  it('every factor answered with one wrong answer is a mismatch that counts an attempt', async () => {
    const s = await verifying();
    const wrong = await tier1(s.agent.key, s.id, { ...KNOWLEDGE, postcode: 'EC1A 1BB' });
    assert.equal(wrong.status, 200, wrong.text);
    assert.equal(wrong.body.passed, false);
    assert.equal(wrong.body.attemptsLeft, 4);
  });

  it('an answer to a factor the account never enrolled is a mismatch, even beside every right answer', async () => {
    const s = await verifying();
    const extra = await tier1(s.agent.key, s.id, { ...KNOWLEDGE, pet_name: 'rex' });
    assert.equal(extra.status, 200, extra.text);
    assert.equal(extra.body.passed, false);
  });

  it("the tenant's policy can name the factors Tier 1 requires; the others are not required", async () => {
    const s = await verifying({ knowledgeFactors: ['postcode'] });
    const policy = await h.api('GET', `/v1/admin/tenants/${s.tenantId}/policy`, {});
    assert.deepEqual(policy.body.effective.knowledgeFactors, ['postcode']);
    const other = await tier1(s.agent.key, s.id, { card_last4: KNOWLEDGE.card_last4 });
    assert.equal(other.status, 400, other.text);
    assert.equal(other.body.error.details.field, 'answers.postcode');
    const named = await tier1(s.agent.key, s.id, { postcode: KNOWLEDGE.postcode });
    assert.equal(named.status, 200, named.text);
    assert.equal(named.body.passed, true);
  });

  it('a policy naming a factor the account never enrolled makes Tier 1 impossible for it, never easier', async () => {
    const s = await verifying({ knowledgeFactors: ['card_last4', 'mothers_maiden_name'] });
    const r = await tier1(s.agent.key, s.id, { card_last4: KNOWLEDGE.card_last4, mothers_maiden_name: 'smith' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.passed, false);
  });
});
