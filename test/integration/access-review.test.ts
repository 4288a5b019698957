// The scheduled access review (SPEC.md 3.3) on the dev server: each tenant's Temporal Schedule set
// from its policy, paused, unpaused and triggered for real; each finding kind and its near miss;
// report versus suspend (through the built-in and a webhook directory, with notices); the report
// over the API as JSON and as a printable page, tenant-scoped; the mail to the security contacts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createActivities } from '../../activities';
import { findAccount } from '../../store/directory';
import { placeAccountActivity, placeEndedBreakGlassGrant } from '../../testkit/access-review';
import { startHarness, type Harness } from '../../testkit/engine';
import { auditEvents } from '../../testkit/inspect-audit';
import { seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant, setPolicy, uniq } from '../../testkit/seed';
import { until } from '../../testkit/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';

const SECRET = 'test-only-access-review-webhook-secret-0001';
let h: Harness;
let rx: WebhookReceiver;
const schedules: string[] = [];
before(async () => {
  h = await startHarness();
  rx = await startWebhookReceiver({ ark: SECRET });
});
after(async () => {
  // The dev server outlives this file: its schedules go with it.
  for (const id of schedules)
    await h.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  await rx?.close();
  await h?.close();
});

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);
const schedulePath = (tenantId: string) => `/v1/admin/tenants/${tenantId}/access-review-schedule`;

async function putSchedule(tenantId: string) {
  const r = await h.api('PUT', schedulePath(tenantId));
  assert.equal(r.status, 200, r.text);
  schedules.push(`access-review:${tenantId}`);
  return r.body;
}

/** Runs the tenant's review through its Schedule and waits for the completed report. */
async function runReview(tenantId: string, before: string[] = []) {
  assert.equal((await h.api('POST', `${schedulePath(tenantId)}/trigger`)).status, 202);
  const item = await until(
    'a completed access review',
    async () => {
      const list = await h.api('GET', `/v1/access-reviews?tenantId=${tenantId}`);
      return (list.body.items as { id: string; state: string }[]).find((i) => i.state === 'completed' && !before.includes(i.id));
    },
    30_000,
  );
  const r = await h.api('GET', `/v1/access-reviews/${item.id}`);
  assert.equal(r.status, 200, r.text);
  return r.body as {
    id: string;
    tenantId: string;
    action: string;
    counts: Record<string, number>;
    findings: { n: number; kind: string; target: string; reason: string; outcome: { status: string } }[];
  };
}
const found = (report: { findings: { kind: string; target: string }[] }) => report.findings.map((f) => `${f.kind} ${f.target}`).sort();

describe("the tenant's access-review Schedule", () => {
  it('is created from the policy, follows its cadence, pauses and unpauses with a note, and runs now when triggered', async () => {
    const tenantId = await seedTenant(h, 'local');
    await setPolicy(h, tenantId, { accessReview: { cadenceSeconds: 3600 } });
    // None yet: the tenant exists, so the read answers what a PUT would create, and the actions a
    // 409 (a 404 would say the tenant is missing); nothing is created by asking.
    const none = await h.api('GET', schedulePath(tenantId));
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(
      { configured: none.body.configured, cadenceSeconds: none.body.cadenceSeconds, nextRunAt: none.body.nextRunAt, recentRuns: none.body.recentRuns },
      { configured: false, cadenceSeconds: 3600, nextRunAt: null, recentRuns: [] },
    );
    for (const [action, body] of [
      ['pause', { note: 'n' }],
      ['unpause', { note: 'n' }],
      ['trigger', undefined],
    ] as const) {
      const r = await h.api('POST', `${schedulePath(tenantId)}/${action}`, body ? { body } : {});
      assert.equal(r.status, 409, `${action}: ${r.text}`);
      assert.deepEqual([r.body.error.code, r.body.error.details?.field], ['schedule_not_configured', 'tenantId'], action);
    }
    assert.equal((await h.api('GET', schedulePath(tenantId))).body.configured, false, 'still none');
    const missing = await h.api('GET', schedulePath('no-such-tenant'));
    assert.deepEqual([missing.status, missing.body.error?.code], [404, 'tenant_not_found']);

    const created = await putSchedule(tenantId);
    assert.equal(created.scheduleId, `access-review:${tenantId}`);
    assert.equal(created.cadenceSeconds, 3600);
    assert.equal(created.paused, false);
    assert.equal(created.configured, true);
    assert.ok(created.nextRunAt, 'the next run is planned');

    // Readable in the Temporal UI: the tenant in the memo and as a search attribute, the workflow it starts.
    const d = await h.client.schedule.getHandle(`access-review:${tenantId}`).describe();
    assert.equal((d.memo as { tenantId?: string }).tenantId, tenantId);
    assert.equal(d.action.type, 'startWorkflow');
    assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, 'accessReviewWorkflow');
    assert.equal(d.action.type === 'startWorkflow' && d.action.taskQueue, h.taskQueue);
    assert.deepEqual(d.searchAttributes.TenantId, [tenantId]);

    // The policy's cadence moves the schedule with it.
    await setPolicy(h, tenantId, { accessReview: { cadenceSeconds: 7200, action: 'report' } });
    assert.equal((await h.api('GET', schedulePath(tenantId))).body.cadenceSeconds, 7200);

    const paused = await h.api('POST', `${schedulePath(tenantId)}/pause`, { body: { note: 'directory migration CHG-1' } });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.paused, true);
    assert.equal(paused.body.note, 'directory migration CHG-1');
    assert.equal((await h.client.schedule.getHandle(`access-review:${tenantId}`).describe()).state.paused, true);

    // A paused schedule still runs when an admin asks.
    const report = await runReview(tenantId);
    assert.equal(report.tenantId, tenantId);
    const runs = (await h.api('GET', schedulePath(tenantId))).body.recentRuns as { workflowId: string }[];
    assert.ok(
      runs.some((r) => r.workflowId.startsWith(`access-review:${tenantId}`)),
      'the run is the schedule’s',
    );

    const unpaused = await h.api('POST', `${schedulePath(tenantId)}/unpause`, { body: { note: 'migration done' } });
    assert.equal(unpaused.body.paused, false);
    const actions = (await auditEvents(h.db, { tenantId })).map((e) => e.action);
    for (const a of [
      'access_review.schedule_created',
      'access_review.schedule_paused',
      'access_review.schedule_triggered',
      'access_review.schedule_unpaused',
    ]) {
      assert.ok(actions.includes(a), `${a} is audited`);
    }
  });

  it('refuses an over-long note with 400 naming the field, an unknown tenant with 404, and a missing schedule with 409', async () => {
    const tenantId = await seedTenant(h, 'local');
    const bad = await h.api('POST', `${schedulePath(tenantId)}/pause`, { body: { note: 'x'.repeat(501) } });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body.error), /note/);
    assert.equal((await h.api('PUT', schedulePath('no-such-tenant'))).status, 404);
    assert.equal((await h.api('POST', `${schedulePath('no-such-tenant')}/trigger`)).status, 404);
    assert.equal((await h.api('POST', `${schedulePath(tenantId)}/trigger`)).status, 409, 'no schedule yet');
  });
});

describe('findings: each kind fires, and its near miss does not (policy: report)', () => {
  let tenantId: string;
  let report: Awaited<ReturnType<typeof runReview>>;
  const ids: Record<string, string> = {};
  let staleApprover: { id: string };
  let staleBreakGlassApprover: { id: string };
  let bg: { flagged: string; reviewed: string };

  before(async () => {
    tenantId = await seedTenant(h, 'local');
    ids.idle = await seedAccount(h, tenantId, { mfa: true });
    ids.nearIdle = await seedAccount(h, tenantId, { mfa: true });
    ids.noMfa = await seedAccount(h, tenantId, { mfa: false });
    ids.sso = await seedAccount(h, tenantId, { authMethod: 'sso', mfa: false });
    ids.approverOld = await seedAccount(h, tenantId, { mfa: true });
    ids.approverFresh = await seedAccount(h, tenantId, { mfa: true });
    const old = daysAgo(400);
    await placeAccountActivity(h.db, tenantId, ids.idle, { lastLoginAt: daysAgo(91), createdAt: old });
    await placeAccountActivity(h.db, tenantId, ids.nearIdle, { lastLoginAt: daysAgo(89), createdAt: old });
    await placeAccountActivity(h.db, tenantId, ids.noMfa, { lastLoginAt: daysAgo(1), createdAt: old });
    await placeAccountActivity(h.db, tenantId, ids.sso, { lastLoginAt: daysAgo(1), createdAt: old });
    await placeAccountActivity(h.db, tenantId, ids.approverOld, { lastLoginAt: daysAgo(120), createdAt: old });
    await placeAccountActivity(h.db, tenantId, ids.approverFresh, { lastLoginAt: daysAgo(2), createdAt: old });
    staleApprover = await seedPrincipal(h, ['approver'], [tenantId], { tenantId, accountId: ids.approverOld });
    staleBreakGlassApprover = await seedPrincipal(h, ['break_glass_approver'], [tenantId], { tenantId, accountId: ids.approverOld });
    await seedPrincipal(h, ['agent'], [tenantId], { tenantId, accountId: ids.approverOld }); // decides nothing: not flagged
    await seedPrincipal(h, ['approver'], [tenantId], { tenantId, accountId: ids.approverFresh });
    bg = {
      flagged: await placeEndedBreakGlassGrant(h.db, { tenantId, accountId: ids.sso, state: 'awaiting_review', endedAt: daysAgo(2) }),
      reviewed: await placeEndedBreakGlassGrant(h.db, { tenantId, accountId: ids.sso, state: 'completed', endedAt: daysAgo(3) }),
    };
    await putSchedule(tenantId);
    report = await runReview(tenantId);
  });

  it('flags exactly the inactive, MFA-less, unreviewed and stale-approver cases (approvers of recoveries and of break-glass)', () => {
    assert.deepEqual(
      found(report),
      [
        `break_glass_unreviewed grant:${bg.flagged}`,
        `inactive_account account:${ids.approverOld}`,
        `inactive_account account:${ids.idle}`,
        `local_without_mfa account:${ids.noMfa}`,
        `stale_approver principal:${staleApprover.id}`,
        `stale_approver principal:${staleBreakGlassApprover.id}`,
      ].sort(),
    );
    assert.equal(report.action, 'report');
    assert.ok(report.findings.every((f) => f.outcome.status === 'reported'));
  });

  it('reports only: every account is still active', async () => {
    for (const id of Object.values(ids)) assert.equal((await findAccount(h.db, tenantId, id))!.status, 'active', id);
  });

  it('audits each finding, by the schedule, with its reason and evidence', async () => {
    const events = await auditEvents(h.db, { tenantId, action: 'access_review.finding' });
    assert.equal(events.length, report.findings.length);
    for (const e of events) {
      assert.equal(e.actor, `schedule:access-review:${tenantId}`);
      const d = e.details as { kind: string; reason: string; evidence: unknown };
      assert.ok(d.kind && d.reason && d.evidence, JSON.stringify(d));
    }
    assert.equal((await auditEvents(h.db, { tenantId, action: 'access_review.completed' })).length, 1);
  });

  it('mails the report to the security contacts, with a link to the printable page', async () => {
    const mail = await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.subject.startsWith('[access review]'));
    assert.equal(mail.subject, `[access review] 6 findings in Tenant ${tenantId}`);
    assert.ok(mail.text.includes(`inactive_account account:${ids.idle}`));
    assert.ok(mail.text.includes(`http://recovery.test/v1/access-reviews/${report.id}?format=html`));
  });

  it('serves the report as a printable page: no script, a strict CSP, the facts on it', async () => {
    const r = await fetch(`${h.baseUrl}/v1/access-reviews/${report.id}?format=html`, { headers: { authorization: `Bearer ${h.adminKey}` } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await r.text();
    assert.ok(!/<script/i.test(html), 'no script');
    for (const id of [ids.idle, ids.noMfa, bg.flagged, staleApprover.id]) assert.ok(html.includes(id), id);
    assert.ok(!html.includes(ids.nearIdle), 'the near miss is not on the page');
  });

  it("is the tenant's own: its auditor reads it, another tenant's auditor gets 404, an agent 403", async () => {
    const auditor = await seedPrincipal(h, ['auditor'], [tenantId]);
    const other = await seedPrincipal(h, ['auditor'], [await seedTenant(h, 'local')]);
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    assert.equal((await h.api('GET', `/v1/access-reviews/${report.id}`, { key: auditor.key })).status, 200);
    const foreign = await h.api('GET', `/v1/access-reviews/${report.id}`, { key: other.key });
    assert.equal(foreign.status, 404);
    const missing = await h.api('GET', `/v1/access-reviews/arv_${'0'.repeat(32)}`, { key: other.key });
    assert.deepEqual(foreign.body.error.code, missing.body.error.code, 'answers as a report that does not exist');
    assert.equal((await h.api('GET', `/v1/access-reviews?tenantId=${tenantId}`, { key: other.key })).status, 403);
    assert.equal((await h.api('GET', `/v1/access-reviews/${report.id}`, { key: agent.key })).status, 403);
    assert.equal((await h.api('GET', '/v1/access-reviews/not-an-id')).status, 400);
  });
});

describe('policy: suspend, through the directory, with a notice to the account', () => {
  it('suspends the inactive account (the near miss and the break-glass account stay), notifies its addresses, and a second run finds nothing new', async () => {
    const tenantId = uniq('t-susp');
    const bgAccount = uniq('bg-admin');
    const body = { id: tenantId, name: `Tenant ${tenantId}`, authMode: 'local', securityContacts: [`security@${tenantId}.test`], breakGlassAccount: bgAccount };
    assert.equal((await h.api('POST', '/v1/admin/tenants', { body })).status, 201);
    const idle = await seedAccount(h, tenantId, { mfa: true });
    const near = await seedAccount(h, tenantId, { mfa: true });
    await seedAccount(h, tenantId, { externalId: bgAccount, role: 'admin', mfa: true });
    await placeAccountActivity(h.db, tenantId, idle, { lastLoginAt: daysAgo(90), createdAt: daysAgo(200) });
    await placeAccountActivity(h.db, tenantId, near, { lastLoginAt: daysAgo(89), createdAt: daysAgo(200) });
    await placeAccountActivity(h.db, tenantId, bgAccount, { lastLoginAt: null, createdAt: daysAgo(200) });
    await setPolicy(h, tenantId, { accessReview: { action: 'suspend' } });
    await putSchedule(tenantId);
    const first = await runReview(tenantId);
    assert.deepEqual(found(first), [`inactive_account account:${bgAccount}`, `inactive_account account:${idle}`].sort());
    const outcome = (id: string) => first.findings.find((f) => f.target === `account:${id}`)!.outcome.status;
    assert.equal(outcome(idle), 'suspended');
    assert.equal(outcome(bgAccount), 'reported', 'the emergency account is reported, never suspended');
    assert.equal((await findAccount(h.db, tenantId, idle))!.status, 'suspended');
    assert.equal((await findAccount(h.db, tenantId, bgAccount))!.status, 'active');
    assert.equal((await findAccount(h.db, tenantId, near))!.status, 'active');
    const notice = await h.sink.waitFor((m) => m.to.includes(`${idle}@${tenantId}.test`) && m.subject.includes('suspended by an access review'));
    assert.ok(notice.text.includes('no sign-in for 90 days'));
    const suspended = await auditEvents(h.db, { tenantId, action: 'access_review.account_suspended' });
    assert.equal(suspended.length, 1);
    assert.equal(suspended[0].target, `account:${idle}`);

    const second = await runReview(tenantId, [first.id]);
    assert.deepEqual(found(second), [`inactive_account account:${bgAccount}`], 'a suspended account is not flagged again');
  });
});

describe('orphans: the identity provider removed the account, the directory still lets it sign in', () => {
  it('is flagged, and under suspend disabled in the webhook directory', async () => {
    const tenantId = uniq('t-orph');
    const body = { id: tenantId, name: `Tenant ${tenantId}`, authMode: 'mixed', securityContacts: [`security@${tenantId}.test`] };
    assert.equal((await h.api('POST', '/v1/admin/tenants', { body })).status, 201);
    const put = await h.api('PUT', `/v1/admin/tenants/${tenantId}/directory`, { body: { kind: 'webhook', baseUrl: rx.url, keyId: 'ark', secret: SECRET } });
    assert.equal(put.status, 200, put.text);
    const gone = uniq('gone');
    const kept = uniq('kept');
    rx.addAccount(gone, { authMethod: 'sso' });
    rx.addAccount(kept, { authMethod: 'sso' });
    const ingestion = await seedIngestion(h, [tenantId]);
    for (const id of [gone, kept]) await seedLogin(h, ingestion.key, tenantId, id);
    // The IdP deletes `gone` over SCIM: the engine's record says deprovisioned; the directory was not told.
    const token = (await h.api('POST', `/v1/admin/tenants/${tenantId}/scim-token`)).body.token as string;
    const del = await fetch(`${h.baseUrl}/v1/scim/v2/Users/${gone}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(del.status, 204);
    assert.equal(rx.accounts.get(gone)!.active, true);

    await setPolicy(h, tenantId, { accessReview: { action: 'suspend' } });
    await putSchedule(tenantId);
    const report = await runReview(tenantId);
    assert.deepEqual(found(report), [`orphaned_account account:${gone}`]);
    assert.equal(report.findings[0].outcome.status, 'suspended');
    assert.equal(rx.accounts.get(gone)!.active, false, 'disabled in the directory');
    assert.equal(rx.accounts.get(kept)!.active, true);
    assert.ok(rx.applied.some((a) => a.op === 'disable' && a.accountId === gone && a.idempotencyKey.startsWith(report.id)));
    await h.sink.waitFor((m) => m.to.includes(`${gone}@example.com`) && m.subject.includes('suspended by an access review'));
  });
});

describe('a retried step acts once', () => {
  it('opening, suspending and mailing again (same review id) change, mail and audit nothing more', async () => {
    const tenantId = await seedTenant(h, 'local');
    const idle = await seedAccount(h, tenantId, { mfa: true });
    await placeAccountActivity(h.db, tenantId, idle, { lastLoginAt: daysAgo(100), createdAt: daysAgo(200) });
    await setPolicy(h, tenantId, { accessReview: { action: 'suspend' } });
    const acts = createActivities({ db: h.db, mailer: h.mailer, config: h.config });
    const reviewId = `arv_${'a1'.repeat(16)}`;
    const open = () => acts.openAccessReview({ reviewId, tenantId, workflowId: `access-review:${tenantId}-retry`, asOf: new Date().toISOString() });
    const first = await open();
    assert.deepEqual(first.toSuspend, [0]);
    // Between the attempts the account signs in: the retry keeps the findings the first attempt stored.
    await placeAccountActivity(h.db, tenantId, idle, { lastLoginAt: new Date() });
    assert.deepEqual(await open(), first);

    assert.deepEqual(await acts.applyAccessReviewFinding({ reviewId, n: 0 }), { suspended: true });
    assert.deepEqual(await acts.applyAccessReviewFinding({ reviewId, n: 0 }), { suspended: true });
    await acts.sendAccessReviewReport({ reviewId });
    await acts.sendAccessReviewReport({ reviewId });

    for (const action of [
      'access_review.started',
      'access_review.finding',
      'access_review.account_suspended',
      'access_review.account_notified',
      'access_review.completed',
    ]) {
      assert.equal((await auditEvents(h.db, { tenantId, action })).length, 1, action);
    }
    await h.sink.waitFor((m) => m.to.includes(`security@${tenantId}.test`) && m.subject.startsWith('[access review]'));
    const notices = h.sink.list().filter((m) => m.to.includes(`${idle}@${tenantId}.test`) && m.subject.includes('suspended by an access review'));
    const reports = h.sink.list().filter((m) => m.to.includes(`security@${tenantId}.test`) && m.subject.startsWith('[access review]'));
    assert.equal(notices.length, 1, 'one notice to the account');
    assert.equal(reports.length, 1, 'one report to the security contacts');
    assert.equal((await h.api('GET', `/v1/access-reviews/${reviewId}`)).body.findings.length, 1);
  });
});
