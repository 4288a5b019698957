// Issue 11, item 1: Updates and signals sent straight to Temporal (the CLI, an SDK, the Web UI,
// anything on the namespace), with and without the engine's payload codec, claiming invented
// approvers, reviewers and verification outcomes: nothing counts, each is audited as rejected,
// and the case then completes normally through the API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client } from '@temporalio/client';
import { accessDecideUpdate, accessReviewUpdate, accessStatusQuery, credentialFetchedSignal, type AccessStatus } from '../../contracts/access';
import { decideUpdate, linkRedeemedSignal, statusQuery, submitVerificationUpdate, type RecoveryStatus } from '../../contracts/recovery';
import { startHarness, type Harness } from '../../testkit/engine';
import { attestationsOf, grantRow, recoveryRow, tokensOf } from '../../testkit/inspect';
import { createAttestation } from '../../store/attestations';
import { attestationKeys } from '../../infra/secrets';
import { auditEvents } from '../../testkit/inspect-audit';
import { tokenFrom } from '../../testkit/mail';
import { KNOWLEDGE, recoveryBody, seedAccount, seedBreakGlassTeam, seedIngestion, seedLogin, seedPrincipal, seedTenant, setPolicy } from '../../testkit/seed';
import { sleep, until } from '../../testkit/wait';

let h: Harness;
let plain: Client;
before(async () => {
  h = await startHarness();
  // Plain JSON payloads, as the Temporal CLI or any SDK without our codec sends them.
  plain = new Client({ connection: h.client.connection, namespace: h.client.options.namespace });
});
after(async () => {
  await h?.close();
});

const senders = () => [
  { how: 'without the codec', client: plain },
  { how: 'with the engine codec', client: h.client },
];

/** Sends a forged message; whether the workflow refused it or not, what counts is what changed. */
const attempt = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    () => 'refused',
  );

/** Waits a moment for a forbidden change to show; returns the last status seen. */
async function settle<T>(read: () => Promise<T>, changed: (s: T) => boolean): Promise<T> {
  let s = await read();
  for (let i = 0; i < 15 && !changed(s); i++) {
    await sleep(200);
    s = await read();
  }
  return s;
}

async function rejections(caseId: string) {
  return (await auditEvents(h.db, { caseId, action: 'message.rejected' })).map((e) => e.details as { kind: string; reason: string });
}

const FAST = { approvalDeadlineSeconds: 60, rules: { mfa_reset: { standard: { waitSeconds: 1 }, privileged: { waitSeconds: 2 } } } };

describe('forged recovery messages change nothing', () => {
  it('a forged tier-1 pass, a forged link redemption and two forged approvals count for nothing; the recovery then completes through the API', async () => {
    const tenantId = await seedTenant(h, 'local');
    await setPolicy(h, tenantId, FAST);
    const accountId = await seedAccount(h, tenantId, { role: 'admin', mfa: true });
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const [a1, a2] = [await seedPrincipal(h, ['approver'], [tenantId]), await seedPrincipal(h, ['approver'], [tenantId])];
    await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId, { kind: 'mfa_reset' }) });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const workflowId = (await recoveryRow(h.db, id)).workflow_id;
    const status = () => h.client.workflow.getHandle(workflowId).query(statusQuery);

    for (const { how, client } of senders()) {
      const forged = { tier: 1 as const, actor: 'principal:prn_forged', passed: true, factorsChecked: 2 };
      await attempt(client.workflow.getHandle(workflowId).executeUpdate(submitVerificationUpdate, { args: [forged] }));
      const s = await settle(status, (x: RecoveryStatus) => x.tiers.passed.includes(1));
      assert.deepEqual(s.tiers.passed, [], `a forged tier-1 pass ${how} does not count`);
      assert.equal(s.state, 'verifying');
    }

    // The possession link is issued; a forged redemption of it proves nothing.
    const t3 = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'email' } });
    assert.equal(t3.status, 200, t3.text);
    const [link] = await tokensOf(h.db, id, 'verify_possession');
    for (const { client } of senders()) await client.workflow.getHandle(workflowId).signal(linkRedeemedSignal, { tokenId: link.id });
    assert.ok(!(await settle(status, (x) => x.tiers.passed.includes(3))).tiers.passed.includes(3), 'a forged redemption does not pass tier 3');

    // Genuine verification through the API.
    for (const body of [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }]) {
      const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body });
      assert.equal(v.body.passed, true, v.text);
    }
    const mail = await h.sink.waitFor((m) => m.subject.startsWith('Confirm your') && m.to[0] === `${accountId}@${tenantId}.test`);
    assert.equal((await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId } })).status, 200);
    await until('awaiting approval', async () => (await status()).state === 'awaiting_approval');

    let n = 0;
    for (const { how, client } of senders()) {
      const forged = {
        principalId: `prn_forged${++n}`,
        roles: ['approver'],
        tenantScope: ['*'],
        account: null,
        decision: 'approve' as const,
        comment: 'forged',
      };
      await attempt(client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, { args: [forged] }));
      const s = await settle(status, (x) => x.approvals.received.length > 0);
      assert.deepEqual(s.approvals.received, [], `a forged approval ${how} does not count`);
      assert.equal(s.state, 'awaiting_approval');
    }

    const audited = await rejections(id);
    assert.equal(audited.filter((d) => d.kind === 'recovery.verify' && d.reason === 'unattested').length, 2, JSON.stringify(audited));
    assert.equal(audited.filter((d) => d.kind === 'recovery.decide' && d.reason === 'unattested').length, 2, JSON.stringify(audited));

    for (const a of [a1, a2]) {
      const r = await h.api('POST', `/v1/recoveries/${id}/approvals`, { key: a.key, body: { decision: 'approve', comment: 'called the owner back' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.counted, true);
    }
    const enrol = await h.sink.waitFor((m) => m.subject.startsWith('Enrol a new sign-in factor') && m.to[0] === `${accountId}@${tenantId}.test`, 30_000);
    const used = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(enrol), tenantId, factor: { type: 'totp' } } });
    assert.equal(used.status, 200, used.text);
    await until('completed', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state === 'completed', 20_000);
    const granted = (await auditEvents(h.db, { caseId: id, action: 'approval.granted' })).map((e) => e.actor);
    assert.deepEqual(granted.sort(), [`principal:${a1.id}`, `principal:${a2.id}`].sort(), 'only the genuine approvals counted');
  });
});

describe('forged emergency-access messages change nothing', () => {
  it('two forged break-glass approvals, a forged pickup signal and a forged review count for nothing; the grant then completes through the API', async () => {
    const t = await seedBreakGlassTeam(h);
    const r = await h.api('POST', '/v1/break-glass', {
      key: t.requester.key,
      body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-1', durationSeconds: 12 },
    });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    const workflowId = (await grantRow(h.db, id)).workflow_id;
    const status = () => h.client.workflow.getHandle(workflowId).query(accessStatusQuery);
    await until('awaiting approval', async () => (await status()).state === 'awaiting_approval');

    let n = 0;
    for (const { how, client } of senders()) {
      const forged = { principalId: `prn_bg${++n}`, roles: ['break_glass_approver'], tenantScope: ['*'], decision: 'approve' as const, comment: 'forged' };
      await attempt(client.workflow.getHandle(workflowId).executeUpdate(accessDecideUpdate, { args: [forged] }));
      const s = await settle(status, (x: AccessStatus) => x.approvals.received.length > 0);
      assert.deepEqual(s.approvals.received, [], `a forged approval ${how} does not count`);
      assert.equal(s.state, 'awaiting_approval');
    }

    for (const p of [t.p1, t.p2]) {
      const a = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'incident confirmed' } });
      assert.equal(a.status, 200, a.text);
    }
    await until('active', async () => (await status()).state === 'active');
    for (const { how, client } of senders()) {
      await client.workflow.getHandle(workflowId).signal(credentialFetchedSignal);
      const s = await settle(status, (x) => x.credential.fetched);
      assert.equal(s.credential.fetched, false, `a forged pickup signal ${how} changes nothing`);
    }
    const fetched = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: t.requester.key });
    assert.equal(fetched.status, 200, fetched.text);
    await until('fetched', async () => (await status()).credential.fetched);

    await until('awaiting review', async () => (await status()).state === 'awaiting_review', 30_000);
    for (const { how, client } of senders()) {
      const forged = { principalId: 'prn_rv', roles: ['reviewer'], tenantScope: ['*'], outcome: 'appropriate' as const, notes: 'forged' };
      await attempt(client.workflow.getHandle(workflowId).executeUpdate(accessReviewUpdate, { args: [forged] }));
      const s = await settle(status, (x) => x.review !== null);
      assert.equal(s.review, null, `a forged review ${how} does not count`);
      assert.equal(s.state, 'awaiting_review');
    }

    const audited = await rejections(id);
    for (const kind of ['access.decide', 'access.credential_fetched', 'access.review']) {
      assert.equal(audited.filter((d) => d.kind === kind && d.reason === 'unattested').length, 2, `${kind}: ${JSON.stringify(audited)}`);
    }

    const review = await h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'checked' } });
    assert.equal(review.status, 200, review.text);
    await until('completed', async () => (await grantRow(h.db, id)).state === 'completed');
    const reviewed = await auditEvents(h.db, { caseId: id, action: 'access.reviewed' });
    assert.equal(reviewed[0]?.actor, `principal:${t.reviewer.id}`, 'the genuine review is the one that counted');
  });
});

describe("attestations that are not the message's own do not count either", () => {
  it('a used attestation, one under another key, one for another grant and one of another kind are refused and audited with their reason', async () => {
    const t = await seedBreakGlassTeam(h);
    const body = { tenantId: t.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-4', durationSeconds: 30 };
    const t2 = await seedBreakGlassTeam(h);
    const r = await h.api('POST', '/v1/break-glass', { key: t.requester.key, body });
    const other = await h.api('POST', '/v1/break-glass', { key: t2.requester.key, body: { ...body, tenantId: t2.tenantId } });
    assert.equal(other.status, 202, other.text);
    const id = r.body.id as string;
    const workflowId = (await grantRow(h.db, id)).workflow_id;
    const status = () => h.client.workflow.getHandle(workflowId).query(accessStatusQuery);
    await until('awaiting approval', async () => (await status()).state === 'awaiting_approval');
    const a = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: t.p1.key, body: { decision: 'approve', comment: 'incident confirmed' } });
    assert.equal(a.status, 200, a.text);

    const minted = { principalId: 'prn_minted', personId: 'prn_minted', roles: ['break_glass_approver'], tenantScope: ['*'], account: null };
    const mint = (keys: { id: string; key: Buffer }[], caseId: string, kind: 'access.decide' | 'access.review') =>
      createAttestation(h.db, keys, {
        kind,
        tenantId: t.tenantId,
        caseId,
        workflowId,
        facts: { principal: minted, message: { decision: 'approve', comment: 'minted' } as never },
      });
    const realKeys = attestationKeys(h.config.tokenKeys);
    const attempts = {
      reused: (await attestationsOf(h.db, id))[0].id,
      mac_mismatch: await mint([{ id: realKeys[0].id, key: crypto.randomBytes(32) }], id, 'access.decide'),
      wrong_case: await mint(realKeys, other.body.id as string, 'access.decide'),
      wrong_kind: await mint(realKeys, id, 'access.review'),
    };
    for (const [what, attestationId] of Object.entries(attempts)) {
      const outcome = await attempt(
        h.client.workflow.getHandle(workflowId).executeUpdate(accessDecideUpdate, { args: [{ attestationId, decision: 'approve', comment: what }] }),
      );
      assert.equal(outcome, 'refused', what);
    }
    const s = await status();
    assert.deepEqual(
      s.approvals.received.map((d) => d.principalId),
      [t.p1.id],
      'only the genuine approval counted',
    );
    assert.equal(s.state, 'awaiting_approval');
    assert.deepEqual(
      (await rejections(id)).map((d) => d.reason),
      ['reused', 'mac_mismatch', 'wrong_case', 'wrong_case'],
    );

    const b = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: t.p2.key, body: { decision: 'approve', comment: 'confirmed too' } });
    assert.equal(b.status, 200, b.text);
    await until('active', async () => (await status()).state === 'active');
  });

  it('a flood of forged messages writes at most 20 rejections per case and hour into the audit chain', async () => {
    const t = await seedBreakGlassTeam(h);
    const body = { tenantId: t.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-5', durationSeconds: 30 };
    const r = await h.api('POST', '/v1/break-glass', { key: t.requester.key, body });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    const workflowId = (await grantRow(h.db, id)).workflow_id;
    const handle = plain.workflow.getHandle(workflowId);
    const status = () => h.client.workflow.getHandle(workflowId).query(accessStatusQuery);
    await until('awaiting approval', async () => (await status()).state === 'awaiting_approval');
    for (let i = 0; i < 30; i++) {
      assert.equal(await attempt(handle.executeUpdate(accessDecideUpdate, { args: [{ decision: 'approve', comment: `flood ${i}` }] })), 'refused');
    }
    assert.equal((await rejections(id)).length, 20);
    assert.deepEqual((await status()).approvals.received, []);
  });
});
