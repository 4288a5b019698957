// Every path of every workflow, driven for real through the API on the time-skipping server: one
// implementation for the recorded histories (test/replay/record-histories.ts) and the audit
// coverage test, so the paths an auditor's check walks are exactly the ones that are recorded.
import assert from 'node:assert/strict';
import type { Harness } from './engine';
import { getAccountChange } from '../store/account-changes';
import { getAccessReview, listAccessReviews } from '../store/access-reviews';
import { getResponse } from '../store/risk-responses';
import { placeAccountActivity } from './access-review';
import { found, grantRow, invitationRow, recoveryRow } from './inspect';
import { codeIn, enrol, invitationState, invite } from './invitations';
import { tokenFrom } from './mail';
import { KNOWLEDGE, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant, setPolicy } from './seed';
import { until } from './wait';

export type WorkflowName =
  'recoveryWorkflow' | 'accessGrantWorkflow' | 'accountChangeWorkflow' | 'invitationWorkflow' | 'riskResponseWorkflow' | 'accessReviewWorkflow';

/** One path's run: the case (recovery, grant or account change) and its closed workflow run. */
export interface RecordedCase {
  path: string;
  workflow: WorkflowName;
  caseId: string;
  tenantId: string;
  workflowId: string;
  runId: string;
}

export interface RecordedPath {
  /** The fixture's name: test/fixtures/histories/<version>/<name>.binpb. */
  name: string;
  workflow: WorkflowName;
  /** Drives the path to its end; the case's id. */
  drive(h: Harness): Promise<string>;
}

async function setup(h: Harness, authMode: 'local' | 'sso_enforced', role: string, authMethod: 'local' | 'sso' = 'local') {
  const tenantId = await seedTenant(h, authMode);
  const accountId = await seedAccount(h, tenantId, { role, authMethod, mfa: true });
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  const a1 = await seedPrincipal(h, ['approver'], [tenantId]);
  const a2 = await seedPrincipal(h, ['approver'], [tenantId]);
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  return { h, tenantId, accountId, agent, a1, a2 };
}
type Ctx = Awaited<ReturnType<typeof setup>>;

async function start(c: Ctx, kind: string) {
  const r = await c.h.api('POST', '/v1/recoveries', { key: c.agent.key, body: recoveryBody(c.tenantId, c.accountId, { kind }) });
  assert.ok(r.status === 202 || r.status === 200, r.text);
  return r.body.id as string;
}
const state = async (c: Ctx, id: string) => (await c.h.api('GET', `/v1/recoveries/${id}`, { key: c.agent.key })).body.state as string;
const waitFor = (c: Ctx, id: string, s: string) => until(s, async () => (await state(c, id)) === s);
const mail = (c: Ctx, prefix: string) => c.h.sink.waitFor((m) => m.subject.startsWith(prefix) && m.to.some((t) => t.startsWith(`${c.accountId}@`)));
const verify = async (c: Ctx, id: string, bodies: object[]) => {
  for (const body of bodies) await c.h.api('POST', `/v1/recoveries/${id}/verifications`, { key: c.agent.key, body });
};
const decide = (c: Ctx, key: string, id: string, decision = 'approve') =>
  c.h.api('POST', `/v1/recoveries/${id}/approvals`, { key, body: { decision, comment: 'recorded path' } });
const redeem = (c: Ctx, body: Record<string, unknown>) => c.h.api('POST', '/v1/links/redeem', { key: null, body: { ...body, tenantId: c.tenantId } });

async function mfaToApproval(c: Ctx) {
  const id = await start(c, 'mfa_reset');
  await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }]);
  await redeem(c, { token: tokenFrom(await mail(c, 'Confirm your')) });
  await waitFor(c, id, 'awaiting_approval');
  return id;
}

async function mfaToWait(c: Ctx) {
  const id = await mfaToApproval(c);
  await decide(c, c.a1.key, id);
  await decide(c, c.a2.key, id);
  return id;
}

async function accessTeam(h: Harness, authMode: 'local' | 'sso_enforced') {
  const tenantId = `t-${Math.random().toString(36).slice(2, 8)}`;
  const bg = `bg-${Math.random().toString(36).slice(2, 8)}`;
  await h.api('POST', '/v1/admin/tenants', {
    body: { id: tenantId, name: tenantId, authMode, securityContacts: [`sec@${tenantId}.test`], breakGlassAccount: bg },
  });
  await seedAccount(h, tenantId, {
    externalId: bg,
    role: 'admin',
    authMethod: authMode === 'local' ? 'local' : 'sso',
    password: authMode === 'local' ? undefined : null,
  });
  return {
    h,
    tenantId,
    bg,
    requester: await seedPrincipal(h, ['agent'], [tenantId]),
    p1: await seedPrincipal(h, ['break_glass_approver'], [tenantId]),
    p2: await seedPrincipal(h, ['break_glass_approver'], [tenantId]),
    reviewer: await seedPrincipal(h, ['reviewer'], [tenantId]),
  };
}
type AccessTeam = Awaited<ReturnType<typeof accessTeam>>;

async function accessRequest(t: AccessTeam, kind = 'break_glass') {
  const r = await t.h.api('POST', '/v1/break-glass', {
    key: t.requester.key,
    body: { tenantId: t.tenantId, kind, target: { accountId: t.bg }, justification: 'recorded path', ticketRef: 'INC-1', durationMinutes: 15 },
  });
  assert.equal(r.status, 202, r.text);
  return r.body.id as string;
}
const accessState = async (t: AccessTeam, id: string) => (await t.h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body.state as string;
const accessWait = (t: AccessTeam, id: string, s: string) => until(s, async () => (await accessState(t, id)) === s);
const accessDecide = (t: AccessTeam, key: string, id: string, decision = 'approve') =>
  t.h.api('POST', `/v1/break-glass/${id}/approvals`, { key, body: { decision, comment: 'recorded path' } });
const review = (t: AccessTeam, id: string) =>
  t.h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'recorded' } });

async function approvedGrant(t: AccessTeam, kind?: string) {
  const id = await accessRequest(t, kind);
  await accessWait(t, id, 'awaiting_approval');
  await accessDecide(t, t.p1.key, id);
  await accessDecide(t, t.p2.key, id);
  await accessWait(t, id, 'active');
  return id;
}

/** Makes the sink answer 550 to matching messages while `f` runs. */
async function refusing<T>(h: Harness, match: (rcpt: string[]) => boolean, f: () => Promise<T>): Promise<T> {
  h.smtpFaults.plan = (_n, rcpt) => (match(rcpt) ? { code: 550, message: '5.1.1 mailbox unavailable' } : null);
  try {
    return await f();
  } finally {
    h.smtpFaults.plan = undefined;
  }
}
const toAccount = (c: Ctx) => (rcpt: string[]) => rcpt.some((r) => r.startsWith(`${c.accountId}@`) || r.startsWith(`${c.accountId}.`));

const access = (name: string, drive: (h: Harness) => Promise<string>): RecordedPath => ({ name, workflow: 'accessGrantWorkflow', drive });
const recovery = (name: string, drive: (h: Harness) => Promise<string>): RecordedPath => ({ name, workflow: 'recoveryWorkflow', drive });

const ACCESS_PATHS: RecordedPath[] = [
  access('access-break-glass-completed-late-review', async (h) => {
    const t = await accessTeam(h, 'local');
    const id = await approvedGrant(t);
    await h.api('POST', `/v1/break-glass/${id}/credential`, { key: t.requester.key });
    await h.testEnv!.sleep('16 minutes');
    await accessWait(t, id, 'awaiting_review');
    await h.testEnv!.sleep('25 hours');
    await review(t, id);
    await accessWait(t, id, 'completed');
    return id;
  }),
  access('access-break-glass-revoked-early', async (h) => {
    const t = await accessTeam(h, 'local');
    const id = await approvedGrant(t);
    await h.api('POST', `/v1/break-glass/${id}/revoke`, { key: t.requester.key, body: { reason: 'done early' } });
    await accessWait(t, id, 'awaiting_review');
    await review(t, id);
    await accessWait(t, id, 'completed');
    return id;
  }),
  access('access-break-glass-denied', async (h) => {
    const t = await accessTeam(h, 'local');
    const id = await accessRequest(t);
    await accessWait(t, id, 'awaiting_approval');
    await accessDecide(t, t.p1.key, id, 'deny');
    await accessWait(t, id, 'denied');
    return id;
  }),
  access('access-break-glass-approval-expired', async (h) => {
    const t = await accessTeam(h, 'local');
    const id = await accessRequest(t);
    await accessWait(t, id, 'awaiting_approval');
    await h.testEnv!.sleep('31 minutes');
    await accessWait(t, id, 'expired');
    return id;
  }),
  access('access-sso-bypass-completed', async (h) => {
    const t = await accessTeam(h, 'sso_enforced');
    const id = await accessRequest(t, 'sso_bypass');
    const m = await h.sink.waitFor((x) => x.subject.startsWith('Confirm SSO-bypass') && x.to.includes(`sec@${t.tenantId}.test`));
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(m), tenantId: t.tenantId } });
    await accessWait(t, id, 'awaiting_approval');
    await accessDecide(t, t.p1.key, id);
    await accessDecide(t, t.p2.key, id);
    await accessWait(t, id, 'active');
    await h.testEnv!.sleep('16 minutes');
    await accessWait(t, id, 'awaiting_review');
    await review(t, id);
    await accessWait(t, id, 'completed');
    return id;
  }),
  access('access-sso-bypass-confirmation-expired', async (h) => {
    const t = await accessTeam(h, 'sso_enforced');
    const id = await accessRequest(t, 'sso_bypass');
    await accessWait(t, id, 'awaiting_confirmation');
    await h.testEnv!.sleep('31 minutes');
    await accessWait(t, id, 'expired');
    return id;
  }),
  access('access-sso-bypass-confirmation-undelivered', async (h) => {
    const t = await accessTeam(h, 'sso_enforced');
    return refusing(
      h,
      (rcpt) => rcpt.includes(`sec@${t.tenantId}.test`),
      async () => {
        const id = await accessRequest(t, 'sso_bypass');
        await accessWait(t, id, 'failed');
        return id;
      },
    );
  }),
];

/** The paths where a link is refused for good (SMTP 5xx). */
const UNDELIVERED_PATHS: RecordedPath[] = [
  recovery('password-link-undelivered', async (h) => {
    const c = await setup(h, 'local', 'standard');
    return refusing(h, toAccount(c), async () => {
      const id = await start(c, 'password_reset');
      await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }]);
      await waitFor(c, id, 'failed');
      return id;
    });
  }),
  recovery('mfa-possession-link-undelivered', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await start(c, 'mfa_reset');
    await refusing(h, toAccount(c), async () => {
      await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }]);
      await waitFor(c, id, 'failed');
    });
    return id;
  }),
  recovery('mfa-cancel-notice-undelivered', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c, c.a1.key, id);
    await refusing(h, toAccount(c), async () => {
      await decide(c, c.a2.key, id);
      await waitFor(c, id, 'failed');
    });
    return id;
  }),
  recovery('mfa-enrolment-link-undelivered', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToWait(c);
    await waitFor(c, id, 'waiting_period');
    await mail(c, 'A change to');
    // Past the reminder (36 h of 48 h), which must still go out: a refused reminder fails closed.
    await h.testEnv!.sleep('37 hours');
    await mail(c, 'Reminder: a change');
    await refusing(h, toAccount(c), async () => {
      await h.testEnv!.sleep('661 minutes');
      await waitFor(c, id, 'completed');
    });
    return id;
  }),
];

const RECOVERY_PATHS: RecordedPath[] = [
  recovery('password-reset-completed', async (h) => {
    const c = await setup(h, 'local', 'standard');
    const id = await start(c, 'password_reset');
    await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }]);
    await redeem(c, { token: tokenFrom(await mail(c, 'Reset your')), newPassword: 'recorded-path-passphrase-1' });
    await waitFor(c, id, 'completed');
    return id;
  }),
  recovery('refused-sso', async (h) => start(await setup(h, 'sso_enforced', 'standard', 'sso'), 'password_reset')),
  recovery('cancelled-while-verifying', async (h) => {
    const c = await setup(h, 'local', 'standard');
    const id = await start(c, 'password_reset');
    await h.api('POST', `/v1/recoveries/${id}/cancel`, { key: c.agent.key, body: { reason: 'recorded path' } });
    return id;
  }),
  recovery('verification-failed', async (h) => {
    const c = await setup(h, 'local', 'standard');
    const id = await start(c, 'password_reset');
    for (let i = 0; i < 5; i++) await verify(c, id, [{ tier: 1, answers: { ...KNOWLEDGE, card_last4: '0000' } }]);
    await waitFor(c, id, 'failed');
    return id;
  }),
  recovery('verification-expired', async (h) => {
    const c = await setup(h, 'local', 'standard');
    const id = await start(c, 'password_reset');
    await h.testEnv!.sleep('61 minutes');
    await waitFor(c, id, 'expired');
    return id;
  }),
  recovery('password-link-expired', async (h) => {
    const c = await setup(h, 'local', 'standard');
    const id = await start(c, 'password_reset');
    await verify(c, id, [{ tier: 2 }]);
    await mail(c, 'Reset your');
    await waitFor(c, id, 'awaiting_completion');
    await h.testEnv!.sleep('16 minutes');
    await waitFor(c, id, 'expired');
    return id;
  }),
  recovery('password-reset-approved-after-wait', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await start(c, 'password_reset');
    await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }]);
    await waitFor(c, id, 'awaiting_approval');
    await decide(c, c.a1.key, id);
    await waitFor(c, id, 'waiting_period');
    // Just past the 24 h wait: the reset link then lives its own 15 minutes.
    await h.testEnv!.sleep('1441 minutes');
    const r = await redeem(c, { token: tokenFrom(await mail(c, 'Reset your')), newPassword: 'recorded-path-passphrase-2' });
    assert.equal(r.status, 200, r.text);
    await waitFor(c, id, 'completed');
    return id;
  }),
  recovery('mfa-reset-completed', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToWait(c);
    await waitFor(c, id, 'waiting_period');
    await h.testEnv!.sleep('2881 minutes');
    await redeem(c, { token: tokenFrom(await mail(c, 'Enrol a new')), factor: { type: 'totp' } });
    await waitFor(c, id, 'completed');
    return id;
  }),
  recovery('mfa-reset-denied', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c, c.a1.key, id, 'deny');
    await waitFor(c, id, 'denied');
    return id;
  }),
  recovery('mfa-reset-approval-expired', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c, c.a1.key, id);
    await h.testEnv!.sleep('25 hours');
    await waitFor(c, id, 'expired');
    return id;
  }),
  recovery('mfa-reset-owner-cancelled-during-wait', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToWait(c);
    const notice = await mail(c, 'A change to');
    await h.testEnv!.sleep('40 hours');
    await h.api('POST', '/v1/links/cancel', { key: null, body: { token: tokenFrom(notice), tenantId: c.tenantId } });
    await waitFor(c, id, 'cancelled');
    return id;
  }),
  recovery('mfa-reset-enrolment-link-expired', async (h) => {
    const c = await setup(h, 'local', 'admin');
    const id = await mfaToWait(c);
    await h.testEnv!.sleep('2881 minutes');
    await waitFor(c, id, 'awaiting_completion');
    await h.testEnv!.sleep('16 minutes');
    await waitFor(c, id, 'completed');
    return id;
  }),
];

const ACCOUNT_CHANGE_PATHS: RecordedPath[] = [
  {
    name: 'account-change-applied',
    workflow: 'accountChangeWorkflow',
    async drive(h) {
      const c = await setup(h, 'local', 'standard');
      const r = await h.api('PATCH', `/v1/admin/tenants/${c.tenantId}/accounts/${c.accountId}`, {
        body: { reason: 'recorded path', displayName: 'Recorded Path' },
      });
      assert.equal(r.status, 200, r.text);
      return r.body.id as string;
    },
  },
];

/** Every recorded path, in the order they are recorded. */
/** An account with no password yet, invited: its invitation's id, mailed token and tenant. */
async function invited(h: Harness) {
  const tenantId = await seedTenant(h, 'local');
  const accountId = await seedAccount(h, tenantId, { password: null });
  return { tenantId, accountId, ...(await invite(h, tenantId, accountId)) };
}
const invitationEnded = (h: Harness, id: string) => until('ended', async () => ['registered', 'expired', 'failed'].includes(await invitationState(h, id)));

const INVITATION_PATHS: RecordedPath[] = [
  {
    name: 'invitation-registered',
    workflow: 'invitationWorkflow',
    drive: async (h) => {
      const i = await invited(h);
      const secret = await enrol(h, i.tenantId, i.token);
      await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: i.token, tenantId: i.tenantId, code: codeIn(secret) } });
      await h.api('POST', '/v1/links/redeem', { key: null, body: { token: i.token, tenantId: i.tenantId, newPassword: 'recorded-path-passphrase-9' } });
      await invitationEnded(h, i.id);
      return i.id;
    },
  },
  {
    name: 'invitation-expired',
    workflow: 'invitationWorkflow',
    drive: async (h) => {
      const i = await invited(h);
      await until('pending', async () => (await invitationState(h, i.id)) === 'pending');
      await h.testEnv!.sleep('25 hours');
      await invitationEnded(h, i.id);
      return i.id;
    },
  },
];

/** A tenant with one account, an ingestion key and an admin; detections answer with the response made. */
async function riskTeam(h: Harness) {
  const tenantId = await seedTenant(h, 'local');
  return {
    h,
    tenantId,
    accountId: await seedAccount(h, tenantId),
    ingest: (await seedIngestion(h, [tenantId])).key,
    admin: await seedPrincipal(h, ['admin'], [tenantId]),
  };
}
type RiskTeam = Awaited<ReturnType<typeof riskTeam>>;
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
const evt = (t: RiskTeam, type: string, over: Record<string, unknown>) => ({
  eventId: `rp-${Math.random().toString(36).slice(2, 10)}`,
  type,
  tenantId: t.tenantId,
  accountId: t.accountId,
  ...over,
});
const login = (t: RiskTeam, over: Record<string, unknown> = {}) =>
  evt(t, 'login', { at: ago(3600), ip: '203.0.113.24', deviceId: 'laptop-1', outcome: 'success', geo: { country: 'GB', asn: 2856 }, ...over });
/** Posts the events; the id of the response the last one started. */
async function detected(t: RiskTeam, events: Record<string, unknown>[], state: string) {
  const r = await t.h.api('POST', '/v1/events', { key: t.ingest, body: { events } });
  assert.equal(r.status, 200, r.text);
  const id = found((r.body.results as { responseIds?: string[] }[]).at(-1)?.responseIds?.[0], `a risk response in ${r.text}`);
  await riskWait(t, id, state);
  return id;
}
const riskWait = (t: RiskTeam, id: string, state: string) => until(state, async () => (await getResponse(t.h.db, id))?.state === state);
const riskDecide = async (t: RiskTeam, id: string, decision: 'reverse' | 'acknowledge', state: string) => {
  const r = await t.h.api('POST', `/v1/risk-responses/${id}/${decision}`, { key: t.admin.key, body: { reason: 'recorded path' } });
  assert.equal(r.status, 200, r.text);
  await riskWait(t, id, state);
  return id;
};
const risk = (name: string, drive: (t: RiskTeam) => Promise<string>): RecordedPath => ({
  name,
  workflow: 'riskResponseWorkflow',
  drive: async (h) => drive(await riskTeam(h)),
});

const RISK_PATHS: RecordedPath[] = [
  risk('risk-hijack-acknowledged', async (t) => {
    const use = evt(t, 'session_use', { at: ago(30), ip: '198.51.100.9', sessionId: 'sess-a', geo: { country: 'GB', asn: 64512 } });
    // Weeks of logins from home first: the account is old enough that a network it never used is a hijack.
    const home = [20, 10].map((d) => login(t, { at: ago(d * 86_400) }));
    const id = await detected(t, [...home, login(t, { at: ago(600), sessionId: 'sess-a' }), use], 'applied');
    return riskDecide(t, id, 'acknowledge', 'acknowledged');
  }),
  risk('risk-enrolment-held-reversed', async (t) => {
    const unfamiliar = { ip: '45.160.1.5', deviceId: 'phone-x', geo: { country: 'BR', asn: 28573 } };
    const enrol = evt(t, 'mfa_enroll', { at: ago(30), ip: unfamiliar.ip, deviceId: 'phone-x' });
    const id = await detected(t, [login(t), login(t, { at: ago(70), ...unfamiliar }), enrol], 'held');
    return riskDecide(t, id, 'reverse', 'released');
  }),
  risk('risk-password-change-closed', async (t) => {
    const id = await detected(t, [login(t, { passwordCompromised: true })], 'password_change_required');
    // Past the 30-day review window with nobody deciding: the response stands.
    await t.h.testEnv!.sleep('721 hours');
    await riskWait(t, id, 'closed');
    return id;
  }),
];

/** A tenant with one account idle for a year, reviewed as its Schedule starts a run (the time-skipping server has no Schedules). */
async function reviewed(h: Harness, action: 'report' | 'suspend') {
  const tenantId = await seedTenant(h, 'local');
  if (action === 'suspend') await setPolicy(h, tenantId, { accessReview: { action } });
  const idle = await seedAccount(h, tenantId, { mfa: true });
  const t0 = await h.testEnv!.currentTimeMs();
  await placeAccountActivity(h.db, tenantId, idle, { lastLoginAt: new Date(t0 - 365 * 86_400_000), createdAt: new Date(t0 - 400 * 86_400_000) });
  const workflowId = `access-review:${tenantId}-recorded`;
  await h.client.workflow.start('accessReviewWorkflow', { taskQueue: h.taskQueue, workflowId, args: [{ tenantId }] });
  const row = await until('the completed review', async () =>
    (await listAccessReviews(h.db, tenantId, 10)).find((r) => r.workflow_id === workflowId && r.state === 'completed'),
  );
  return row.id;
}

const ACCESS_REVIEW_PATHS: RecordedPath[] = [
  { name: 'access-review-report', workflow: 'accessReviewWorkflow', drive: (h) => reviewed(h, 'report') },
  { name: 'access-review-suspend', workflow: 'accessReviewWorkflow', drive: (h) => reviewed(h, 'suspend') },
];

export const RECORDED_PATHS: readonly RecordedPath[] = [
  ...ACCESS_PATHS,
  ...UNDELIVERED_PATHS,
  ...RECOVERY_PATHS,
  ...ACCOUNT_CHANGE_PATHS,
  ...INVITATION_PATHS,
  ...RISK_PATHS,
  ...ACCESS_REVIEW_PATHS,
];

/** Drives a path and waits for its workflow run to close. */
export async function driveRecordedPath(h: Harness, p: RecordedPath): Promise<RecordedCase> {
  const caseId = await p.drive(h);
  const { tenantId, workflowId, runId } = await runOf(h, p.workflow, caseId);
  await until('closed', async () => (await h.client.workflow.getHandle(workflowId, runId).describe()).status.name !== 'RUNNING');
  return { path: p.name, workflow: p.workflow, caseId, tenantId, workflowId, runId };
}

async function runOf(h: Harness, workflow: WorkflowName, caseId: string): Promise<{ tenantId: string; workflowId: string; runId: string }> {
  if (workflow === 'accountChangeWorkflow') {
    const c = found(await getAccountChange(h.db, caseId), `account change ${caseId}`);
    const workflowId = `account-change:${caseId}`;
    return { tenantId: c.tenantId, workflowId, runId: (await h.client.workflow.getHandle(workflowId).describe()).runId };
  }
  if (workflow === 'riskResponseWorkflow' || workflow === 'accessReviewWorkflow') {
    const row =
      workflow === 'riskResponseWorkflow'
        ? found(await getResponse(h.db, caseId), `risk response ${caseId}`)
        : (({ tenant_id, workflow_id }) => ({ tenantId: tenant_id, workflowId: workflow_id }))(
            found(await getAccessReview(h.db, caseId), `access review ${caseId}`),
          );
    return { tenantId: row.tenantId, workflowId: row.workflowId, runId: (await h.client.workflow.getHandle(row.workflowId).describe()).runId };
  }
  if (workflow === 'invitationWorkflow') {
    const row = found(await invitationRow(h.db, caseId), `invitation ${caseId}`);
    return { tenantId: row.tenant_id, workflowId: row.workflow_id, runId: found(row.run_id, `run of ${caseId}`) };
  }
  // The read model's run id is set by the run's first recorded transition, done by now.
  const row = workflow === 'recoveryWorkflow' ? await recoveryRow(h.db, caseId) : await grantRow(h.db, caseId);
  return { tenantId: row.tenant_id, workflowId: row.workflow_id, runId: found(row.run_id, `run of ${caseId}`) };
}
