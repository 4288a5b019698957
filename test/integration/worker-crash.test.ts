// A worker SIGKILLed between approval and issuance: after a restart, exactly one credential
// exists and the flow completes. The worker is a real child process; nothing is simulated.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHarness, type Harness } from '../../testkit/engine';
import { credentialsOf } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { ROOT, spawnTs, type Child } from '../../testkit/procs';
import { until } from '../../testkit/wait';
import { KNOWLEDGE, recoveryBody, seedBreakGlassTeam, seedLocalAccount } from '../../testkit/seed';

let h: Harness;
const children: Child[] = [];
before(async () => {
  h = await startHarness({ inProcessWorker: false });
});
after(async () => {
  for (const c of children) await c.kill();
  await h?.close();
});

/** Starts `worker/main.ts` as its own process and resolves once it polls. */
async function startWorker(): Promise<Child> {
  const child = spawnTs('worker', path.join(ROOT, 'worker', 'main.ts'), { env: h.workerEnv });
  children.push(child);
  await child.waitForText('worker started', 60_000);
  return child;
}

const kill = (child: Child) => child.kill();

async function grantAwaitingApproval() {
  const { tenantId, requester, p1, p2, reviewer } = await seedBreakGlassTeam(h);
  const r = await h.api('POST', '/v1/break-glass', {
    key: requester.key,
    body: { tenantId, target: { designated: true }, justification: 'crash test', ticketRef: 'INC-7', durationSeconds: 2 },
  });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  const state = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: requester.key })).body;
  await until('awaiting approval', async () => (await state()).state === 'awaiting_approval', 30_000);
  const approve = (key: string) => h.api('POST', `/v1/break-glass/${id}/approvals`, { key, body: { decision: 'approve', comment: 'ok' } });
  return { id, requester, p1, p2, reviewer, state, approve };
}

async function finishAndCount(g: Awaited<ReturnType<typeof grantAwaitingApproval>>) {
  await until('active', async () => ['active', 'rotating', 'awaiting_review'].includes((await g.state()).state), 60_000);
  const creds = await credentialsOf(h.db, g.id);
  assert.equal(creds.length, 1, 'exactly one credential');
  const fetched = await h.api('POST', `/v1/break-glass/${g.id}/credential`, { key: g.requester.key });
  assert.ok(fetched.status === 200 || fetched.body.error?.code === 'credential_revoked', fetched.text);
  await until('awaiting review', async () => (await g.state()).state === 'awaiting_review', 60_000);
  assert.equal(
    (await h.api('POST', `/v1/break-glass/${g.id}/review`, { key: g.reviewer.key, body: { outcome: 'appropriate', notes: 'crash drill' } })).status,
    200,
  );
  await until('completed', async () => (await g.state()).state === 'completed', 30_000);
  assert.equal((await credentialsOf(h.db, g.id)).length, 1, 'still exactly one credential');
  const issued = await auditEvents(h.db, { caseId: g.id, action: 'access.credential_issued' });
  assert.equal(issued.length, 1, 'issued once in the audit log');
}

describe('no worker polling: the API answers within its deadlines', () => {
  it('start answers 202 received, GET falls back to the read model, an update is a 503; a worker later picks everything up', async () => {
    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    assert.equal(created.status, 202, created.text);
    assert.equal(created.body.status, 'received', 'triage cannot run without a worker');
    assert.deepEqual(created.body.next, { action: 'poll', href: `/v1/recoveries/${created.body.id}` });
    const id = created.body.id as string;

    const got = await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.state, 'received', 'the read model answers when the status query cannot');
    assert.equal(got.body.next, null);

    const verify = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
    assert.equal(verify.status, 503, verify.text);
    assert.equal(verify.body.error.code, 'unavailable');
    assert.equal(verify.headers.get('retry-after'), '5');

    const worker = await startWorker();
    try {
      const state = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state as string;
      const moved = await until(
        'triage ran once a worker polled',
        async () => {
          const s = await state();
          return s !== 'received' && s;
        },
        30_000,
      );
      // The 503 said the update "may still take effect": the server may have kept it for the worker.
      if (moved === 'verifying') {
        const again = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
        assert.ok(again.status === 200 || (again.status === 409 && again.body.error.code === 'invalid_state'), again.text);
      }
      await until('the link is issued', async () => (await state()) === 'awaiting_completion', 30_000);
      const links = h.sink.list().filter((m) => m.to.includes(`${accountId}@${tenantId}.test`) && m.subject.includes('Reset your'));
      assert.equal(links.length, 1, 'one link, however the update arrived');
    } finally {
      await kill(worker);
    }
  });
});

describe('a worker killed between approval and issuance', () => {
  it('killed the moment the second approval is accepted: one credential, and the flow completes', async () => {
    let worker = await startWorker();
    const g = await grantAwaitingApproval();
    assert.equal((await g.approve(g.p1.key)).status, 200);
    assert.equal((await g.approve(g.p2.key)).status, 200);
    await kill(worker);
    worker = await startWorker();
    await finishAndCount(g);
    await kill(worker);
  });

  it('killed after the first approval, with the second one waiting for a worker: one credential, and the flow completes', async () => {
    let worker = await startWorker();
    const g = await grantAwaitingApproval();
    assert.equal((await g.approve(g.p1.key)).status, 200);
    await kill(worker);
    const second = g.approve(g.p2.key); // accepted only once a worker runs again
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await credentialsOf(h.db, g.id), [], 'nothing issued while no worker runs');
    worker = await startWorker();
    assert.equal((await second).status, 200);
    await finishAndCount(g);
    await kill(worker);
  });
});
