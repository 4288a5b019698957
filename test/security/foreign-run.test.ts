// A case whose workflow never started has no run of its own. Its workflow id can belong to
// another run on the same Temporal namespace (a run the database does not know, or an earlier
// or later case of the same account and kind): a message for the case must never be addressed
// to that run. Found by schemathesis in CI, where the dev server is shared between test files:
// an approval for such a recovery waited 20 s on a run no worker polls, then answered 503.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { grantsOf, recoveriesOf } from '../../testkit/inspect';
import { auditActionsOf } from '../../testkit/inspect-audit';
import { recoveryBody, seedAccount, seedBreakGlassTeam, seedPrincipal, seedTenant } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A run under this workflow id on a task queue nobody polls: it holds the id, and never answers. */
async function occupy(workflowId: string) {
  await h.client.workflow.start('recoveryWorkflow', { taskQueue: `nobody-polls-${workflowId}`, workflowId, args: [{}] });
  return () => h.client.workflow.getHandle(workflowId).terminate('test over');
}

describe('a case whose start failed is never addressed through its workflow id', () => {
  it('recovery: the start answers 409, and approvals, verifications and cancel answer 409 at once, not via the foreign run', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId, { role: 'admin' });
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const approver = await seedPrincipal(h, ['approver'], [tenantId]);
    const release = await occupy(`recovery:${tenantId}:${accountId}:password_reset`);
    try {
      const start = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
      assert.equal(start.status, 409, start.text);
      const [row] = await recoveriesOf(h.db, tenantId, accountId);
      assert.equal(row.state, 'failed');
      assert.equal(row.run_id, null, 'no run of its own');
      const approve = await h.api('POST', `/v1/recoveries/${row.id}/approvals`, { key: approver.key, body: { decision: 'approve', comment: 'ok' } });
      assert.equal(approve.status, 409, approve.text);
      assert.equal(approve.body.error.code, 'approval_closed');
      assert.ok((await auditActionsOf(h.db, row.id)).includes('approval.rejected'), 'the refused decision is audited');
      const verify = await h.api('POST', `/v1/recoveries/${row.id}/verifications`, { key: agent.key, body: { tier: 2 } });
      assert.equal(verify.status, 409, verify.text);
      const cancel = await h.api('POST', `/v1/recoveries/${row.id}/cancel`, { key: agent.key, body: { reason: 'done' } });
      assert.equal(cancel.status, 409, cancel.text);
    } finally {
      await release();
    }
  });

  it('break-glass: approvals, revoke and review of a grant whose start failed answer 409 at once', async () => {
    const t = await seedBreakGlassTeam(h);
    const release = await occupy(`access:${t.tenantId}:${t.bgAccount}:break_glass`);
    try {
      const r = await h.api('POST', '/v1/break-glass', {
        key: t.requester.key,
        body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-1', durationSeconds: 600 },
      });
      assert.equal(r.status, 409, r.text);
      const [g] = await grantsOf(h.db, t.tenantId);
      assert.equal(g.state, 'cancelled', 'the unstarted grant is closed');
      assert.equal(g.run_id, null, 'no run of its own');
      const approve = await h.api('POST', `/v1/break-glass/${g.id}/approvals`, { key: t.p1.key, body: { decision: 'approve', comment: 'ok' } });
      assert.equal(approve.status, 409, approve.text);
      assert.equal(approve.body.error.code, 'approval_closed');
      const revoke = await h.api('POST', `/v1/break-glass/${g.id}/revoke`, { key: t.requester.key, body: { reason: 'done' } });
      assert.equal(revoke.status, 409, revoke.text);
      const review = await h.api('POST', `/v1/break-glass/${g.id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'fine' } });
      assert.equal(review.status, 409, review.text);
      const actions = await auditActionsOf(h.db, g.id);
      for (const a of ['access.approval.rejected', 'access.revoke.rejected', 'access.review.rejected'])
        assert.ok(actions.includes(a), `${a} in ${actions.join(', ')}`);
    } finally {
      await release();
    }
  });
});
