// The access review across 90 days on the time-skipping test server. That server has no Schedules
// (CreateSchedule is UNIMPLEMENTED there: the first test pins it), so the Schedule itself is tested
// on the dev server (access-review.test.ts); here the review workflow is started as the Schedule's
// action starts it (same workflow type, arguments and id prefix) at each tick of a weekly cadence,
// while the server's clock jumps days. Activity is placed on that clock, so an account turns
// inactive when, and only when, 90 days of skipped time have passed since its last sign-in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { placeAccountActivity } from '../../testkit/access-review';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedAccount, seedPrincipal, seedTenant, setPolicy } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.close();
});

const DAY = 86_400_000;
const now = async () => h.testEnv!.currentTimeMs();

/** Jumps the server's clock to `t0 + ms` (it also runs on in real time, so it may be there by a few seconds). */
async function advanceTo(t0: number, ms: number) {
  const left = t0 + ms - (await now());
  assert.ok(left > -60_000, `the clock is not far past the target (${left} ms)`);
  if (left > 0) await h.testEnv!.sleep(left);
}

/**
 * One run, exactly as the tenant's Schedule starts it; the report as the API serves it. Started,
 * not executed: waiting on a result lets the test server skip its clock on (years, with nothing
 * else pending), so the run is awaited through the API, as an auditor would.
 */
async function scheduledRun(tenantId: string, tick: string) {
  const workflowId = `access-review:${tenantId}-${tick}`;
  await h.client.workflow.start('accessReviewWorkflow', { taskQueue: h.taskQueue, workflowId, args: [{ tenantId }] });
  const item = await until('the run’s completed report', async () => {
    const list = await h.api('GET', `/v1/access-reviews?tenantId=${tenantId}`);
    return (list.body.items as { id: string; workflowId: string; state: string }[]).find((i) => i.workflowId === workflowId && i.state === 'completed');
  });
  const r = await h.api('GET', `/v1/access-reviews/${item.id}`);
  assert.equal(r.status, 200, r.text);
  return r.body as { asOf: string; findings: { kind: string; target: string }[] };
}
const targets = (report: { findings: { kind: string; target: string }[] }, kind: string) =>
  report.findings
    .filter((f) => f.kind === kind)
    .map((f) => f.target)
    .sort();

describe('the time-skipping server', () => {
  it('has no Schedules: creating one is refused as unimplemented', async () => {
    await assert.rejects(
      h.client.schedule.create({
        scheduleId: 'access-review:probe',
        spec: { intervals: [{ every: '7 days' }] },
        action: { type: 'startWorkflow', workflowType: 'accessReviewWorkflow', taskQueue: h.taskQueue, args: [{ tenantId: 'probe' }] },
      }),
      (err: Error & { cause?: { code?: number } }) => err.cause?.code === 12,
    );
  });
});

describe('the weekly review across 90 days of skipped time', () => {
  it('flags an account, and an approver, exactly when 90 days have passed since the last sign-in; never before', async () => {
    const tenantId = await seedTenant(h, 'local');
    // Weekly; the policy is saved although this server holds no Schedule to follow it.
    await setPolicy(h, tenantId, { accessReview: { cadenceSeconds: 7 * 86400 } });
    const early = await seedAccount(h, tenantId, { mfa: true });
    const later = await seedAccount(h, tenantId, { mfa: true });
    const approverAccount = await seedAccount(h, tenantId, { mfa: true });
    const approver = await seedPrincipal(h, ['approver'], [tenantId], { tenantId, accountId: approverAccount });
    const t0 = await now();
    const created = new Date(t0 - DAY);
    await placeAccountActivity(h.db, tenantId, early, { lastLoginAt: new Date(t0), createdAt: created });
    await placeAccountActivity(h.db, tenantId, later, { lastLoginAt: new Date(t0), createdAt: created });
    await placeAccountActivity(h.db, tenantId, approverAccount, { lastLoginAt: new Date(t0), createdAt: created });

    // Every tick of the weekly cadence: nothing is stale for 12 weeks.
    for (let week = 0; week <= 12; week++) {
      await advanceTo(t0, week * 7 * DAY);
      if (week === 6) await placeAccountActivity(h.db, tenantId, later, { lastLoginAt: new Date(t0 + 42 * DAY) }); // day 42: `later` signs in
      const report = await scheduledRun(tenantId, `week-${week}`);
      assert.deepEqual(report.findings, [], `week ${week}: nothing to flag`);
    }

    // One hour short of 90 days: still nothing.
    await advanceTo(t0, 90 * DAY - 3_600_000);
    assert.deepEqual((await scheduledRun(tenantId, 'day-89')).findings, []);

    // Day 90: the account and the approver's own account are stale; `later` (day 42) is not.
    await advanceTo(t0, 90 * DAY);
    const day90 = await scheduledRun(tenantId, 'day-90');
    assert.ok(Date.parse(day90.asOf) >= t0 + 90 * DAY, 'reviewed as of the skipped clock');
    assert.deepEqual(targets(day90, 'inactive_account'), [`account:${approverAccount}`, `account:${early}`].sort());
    assert.deepEqual(targets(day90, 'stale_approver'), [`principal:${approver.id}`]);
    const mail = await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.subject === `[access review] 3 findings in Tenant ${tenantId}`);
    assert.ok(mail.text.includes(`account:${early}`));

    // `later` turns 90 days idle on day 132, not a day before.
    await advanceTo(t0, 131 * DAY);
    assert.ok(!targets(await scheduledRun(tenantId, 'day-131'), 'inactive_account').includes(`account:${later}`));
    await advanceTo(t0, 132 * DAY);
    assert.ok(targets(await scheduledRun(tenantId, 'day-132'), 'inactive_account').includes(`account:${later}`));
  });
});
