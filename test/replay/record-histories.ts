// Records one history per path of every workflow into test/fixtures/histories/<VERSION>/, for
// the replay test. Bump VERSION (and keep the older folders) when a patch changes the commands. Run with `npm run record-histories` after an intended workflow change (and a
// patch, if old histories must still replay). Drives the real workflow on the time-skipping server.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { startHarness, type Harness } from '../../testkit/engine';
import { found, grantRow, invitationRow, recoveryRow } from '../../testkit/inspect';
import { codeIn, enrol, invitationState, invite } from '../../testkit/invitations';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { KNOWLEDGE, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, seedTenant } from '../../testkit/seed';
import { decodePayloadsInPlace, EncryptionCodec } from '../../infra/codec';
import { workflowBundle } from '../../boot/worker';

const VERSION = 'v3';
const OUT = path.join(__dirname, '..', 'fixtures', 'histories', VERSION);
let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
  fs.mkdirSync(OUT, { recursive: true });
});
after(async () => {
  await h?.close();
});

async function setup(authMode: 'local' | 'sso_enforced', role: string, authMethod: 'local' | 'sso' = 'local') {
  const tenantId = await seedTenant(h, authMode);
  const accountId = await seedAccount(h, tenantId, { role, authMethod, mfa: true });
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  const a1 = await seedPrincipal(h, ['approver'], [tenantId]);
  const a2 = await seedPrincipal(h, ['approver'], [tenantId]);
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  return { tenantId, accountId, agent, a1, a2 };
}
type Ctx = Awaited<ReturnType<typeof setup>>;

async function start(c: Ctx, kind: string) {
  const r = await h.api('POST', '/v1/recoveries', { key: c.agent.key, body: recoveryBody(c.tenantId, c.accountId, { kind }) });
  assert.ok(r.status === 202 || r.status === 200, r.text);
  return r.body.id as string;
}
const state = async (c: Ctx, id: string) => (await h.api('GET', `/v1/recoveries/${id}`, { key: c.agent.key })).body.state as string;
const waitFor = (c: Ctx, id: string, s: string) => until(s, async () => (await state(c, id)) === s);
const mail = (c: Ctx, prefix: string) => h.sink.waitFor((m) => m.subject.startsWith(prefix) && m.to.some((t) => t.startsWith(`${c.accountId}@`)));
const verify = async (c: Ctx, id: string, bodies: object[]) => {
  for (const body of bodies) await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: c.agent.key, body });
};
const decide = (key: string, id: string, decision = 'approve') =>
  h.api('POST', `/v1/recoveries/${id}/approvals`, { key, body: { decision, comment: 'recorded path' } });

async function save(name: string, id: string) {
  const row = await recoveryRow(h.db, id);
  await store(name, row.workflow_id, row.run_id!);
}

/** Waits for the run to close, checks that today's code replays it, and writes it. */
async function store(name: string, workflowId: string, runId: string) {
  await until('closed', async () => (await h.client.workflow.getHandle(workflowId, runId).describe()).status.name !== 'RUNNING');
  const history = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
  // Stored decrypted, so the fixtures replay whatever the payload keys of a later run are.
  await decodePayloadsInPlace(history, new EncryptionCodec(h.config.payloadKeys));
  // A history the code that wrote it cannot replay is a workflow bug, not a fixture.
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, name);
  // Binary protobuf: the exact bytes the server sent, independent of JSON mapping quirks.
  fs.writeFileSync(path.join(OUT, `${name}.binpb`), temporal.api.history.v1.History.encode(history).finish());
}

async function mfaToApproval(c: Ctx) {
  const id = await start(c, 'mfa_reset');
  await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }]);
  await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(await mail(c, 'Confirm your')), tenantId: c.tenantId } });
  await waitFor(c, id, 'awaiting_approval');
  return id;
}

async function accessTeam(authMode: 'local' | 'sso_enforced') {
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
  const r = await h.api('POST', '/v1/break-glass', {
    key: t.requester.key,
    body: { tenantId: t.tenantId, kind, target: { accountId: t.bg }, justification: 'recorded path', ticketRef: 'INC-1', durationMinutes: 15 },
  });
  assert.equal(r.status, 202, r.text);
  return r.body.id as string;
}
const accessState = async (t: AccessTeam, id: string) => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body.state as string;
const accessWait = (t: AccessTeam, id: string, s: string) => until(s, async () => (await accessState(t, id)) === s);
const accessDecide = (key: string, id: string, decision = 'approve') =>
  h.api('POST', `/v1/break-glass/${id}/approvals`, { key, body: { decision, comment: 'recorded path' } });

async function saveAccess(name: string, id: string) {
  const row = await grantRow(h.db, id);
  await store(name, row.workflow_id, row.run_id!);
}

it('records every path of the emergency-access workflow', async () => {
  {
    const t = await accessTeam('local');
    const id = await accessRequest(t);
    await accessWait(t, id, 'awaiting_approval');
    await accessDecide(t.p1.key, id);
    await accessDecide(t.p2.key, id);
    await accessWait(t, id, 'active');
    await h.api('POST', `/v1/break-glass/${id}/credential`, { key: t.requester.key });
    await h.testEnv!.sleep('16 minutes');
    await accessWait(t, id, 'awaiting_review');
    await h.testEnv!.sleep('25 hours');
    await h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'recorded' } });
    await accessWait(t, id, 'completed');
    await saveAccess('access-break-glass-completed-late-review', id);
  }
  {
    const t = await accessTeam('local');
    const id = await accessRequest(t);
    await accessWait(t, id, 'awaiting_approval');
    await accessDecide(t.p1.key, id);
    await accessDecide(t.p2.key, id);
    await accessWait(t, id, 'active');
    await h.api('POST', `/v1/break-glass/${id}/revoke`, { key: t.requester.key, body: { reason: 'done early' } });
    await accessWait(t, id, 'awaiting_review');
    await h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'recorded' } });
    await accessWait(t, id, 'completed');
    await saveAccess('access-break-glass-revoked-early', id);
  }
  {
    const t = await accessTeam('local');
    const id = await accessRequest(t);
    await accessWait(t, id, 'awaiting_approval');
    await accessDecide(t.p1.key, id, 'deny');
    await accessWait(t, id, 'denied');
    await saveAccess('access-break-glass-denied', id);
  }
  {
    const t = await accessTeam('local');
    const id = await accessRequest(t);
    await accessWait(t, id, 'awaiting_approval');
    await h.testEnv!.sleep('31 minutes');
    await accessWait(t, id, 'expired');
    await saveAccess('access-break-glass-approval-expired', id);
  }
  {
    const t = await accessTeam('sso_enforced');
    const id = await accessRequest(t, 'sso_bypass');
    const m = await h.sink.waitFor((x) => x.subject.startsWith('Confirm SSO-bypass') && x.to.includes(`sec@${t.tenantId}.test`));
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(m), tenantId: t.tenantId } });
    await accessWait(t, id, 'awaiting_approval');
    await accessDecide(t.p1.key, id);
    await accessDecide(t.p2.key, id);
    await accessWait(t, id, 'active');
    await h.testEnv!.sleep('16 minutes');
    await accessWait(t, id, 'awaiting_review');
    await h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'recorded' } });
    await accessWait(t, id, 'completed');
    await saveAccess('access-sso-bypass-completed', id);
  }
  {
    const t = await accessTeam('sso_enforced');
    const id = await accessRequest(t, 'sso_bypass');
    await accessWait(t, id, 'awaiting_confirmation');
    await h.testEnv!.sleep('31 minutes');
    await accessWait(t, id, 'expired');
    await saveAccess('access-sso-bypass-confirmation-expired', id);
  }
  {
    const t = await accessTeam('sso_enforced');
    const bounce = refuse((rcpt) => rcpt.includes(`sec@${t.tenantId}.test`));
    try {
      const id = await accessRequest(t, 'sso_bypass');
      await accessWait(t, id, 'failed');
      await saveAccess('access-sso-bypass-confirmation-undelivered', id);
    } finally {
      bounce();
    }
  }
});

/** Makes the sink answer 550 to matching messages until the returned function is called. */
function refuse(match: (rcpt: string[]) => boolean) {
  h.smtpFaults.plan = (_n, rcpt) => (match(rcpt) ? { code: 550, message: '5.1.1 mailbox unavailable' } : null);
  return () => {
    h.smtpFaults.plan = undefined;
  };
}
const toAccount = (c: Ctx) => (rcpt: string[]) => rcpt.some((r) => r.startsWith(`${c.accountId}@`) || r.startsWith(`${c.accountId}.`));

it('records the paths where a link is refused for good (SMTP 5xx)', async () => {
  {
    const c = await setup('local', 'standard');
    const bounce = refuse(toAccount(c));
    try {
      const id = await start(c, 'password_reset');
      await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }]);
      await waitFor(c, id, 'failed');
      await save('password-link-undelivered', id);
    } finally {
      bounce();
    }
  }
  {
    const c = await setup('local', 'admin');
    const id = await start(c, 'mfa_reset');
    const bounce = refuse(toAccount(c));
    try {
      await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }, { tier: 3, channel: 'email' }]);
      await waitFor(c, id, 'failed');
      await save('mfa-possession-link-undelivered', id);
    } finally {
      bounce();
    }
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id);
    const bounce = refuse(toAccount(c));
    try {
      await decide(c.a2.key, id);
      await waitFor(c, id, 'failed');
      await save('mfa-cancel-notice-undelivered', id);
    } finally {
      bounce();
    }
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id);
    await decide(c.a2.key, id);
    await waitFor(c, id, 'waiting_period');
    await mail(c, 'A change to');
    // Past the reminder (36 h of 48 h), which must still go out: a refused reminder fails closed.
    await h.testEnv!.sleep('37 hours');
    await mail(c, 'Reminder: a change');
    const bounce = refuse(toAccount(c));
    try {
      await h.testEnv!.sleep('661 minutes');
      await waitFor(c, id, 'completed');
      await save('mfa-enrolment-link-undelivered', id);
    } finally {
      bounce();
    }
  }
});

it('records every path', async () => {
  {
    const c = await setup('local', 'standard');
    const id = await start(c, 'password_reset');
    await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }]);
    await h.api('POST', '/v1/links/redeem', {
      key: null,
      body: { token: tokenFrom(await mail(c, 'Reset your')), tenantId: c.tenantId, newPassword: 'recorded-path-passphrase-1' },
    });
    await waitFor(c, id, 'completed');
    await save('password-reset-completed', id);
  }
  {
    const c = await setup('sso_enforced', 'standard', 'sso');
    await save('refused-sso', await start(c, 'password_reset'));
  }
  {
    const c = await setup('local', 'standard');
    const id = await start(c, 'password_reset');
    await h.api('POST', `/v1/recoveries/${id}/cancel`, { key: c.agent.key, body: { reason: 'recorded path' } });
    await save('cancelled-while-verifying', id);
  }
  {
    const c = await setup('local', 'standard');
    const id = await start(c, 'password_reset');
    for (let i = 0; i < 5; i++) await verify(c, id, [{ tier: 1, answers: { ...KNOWLEDGE, card_last4: '0000' } }]);
    await waitFor(c, id, 'failed');
    await save('verification-failed', id);
  }
  {
    const c = await setup('local', 'standard');
    const id = await start(c, 'password_reset');
    await h.testEnv!.sleep('61 minutes');
    await waitFor(c, id, 'expired');
    await save('verification-expired', id);
  }
  {
    const c = await setup('local', 'standard');
    const id = await start(c, 'password_reset');
    await verify(c, id, [{ tier: 2 }]);
    await mail(c, 'Reset your');
    await waitFor(c, id, 'awaiting_completion');
    await h.testEnv!.sleep('16 minutes');
    await waitFor(c, id, 'expired');
    await save('password-link-expired', id);
  }
  {
    const c = await setup('local', 'admin');
    const id = await start(c, 'password_reset');
    await verify(c, id, [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }]);
    await waitFor(c, id, 'awaiting_approval');
    await decide(c.a1.key, id);
    await waitFor(c, id, 'waiting_period');
    // Just past the 24 h wait: the reset link then lives its own 15 minutes.
    await h.testEnv!.sleep('1441 minutes');
    const r = await h.api('POST', '/v1/links/redeem', {
      key: null,
      body: { token: tokenFrom(await mail(c, 'Reset your')), tenantId: c.tenantId, newPassword: 'recorded-path-passphrase-2' },
    });
    assert.equal(r.status, 200, r.text);
    await waitFor(c, id, 'completed');
    await save('password-reset-approved-after-wait', id);
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id);
    await decide(c.a2.key, id);
    await waitFor(c, id, 'waiting_period');
    await h.testEnv!.sleep('2881 minutes');
    await h.api('POST', '/v1/links/redeem', {
      key: null,
      body: { token: tokenFrom(await mail(c, 'Enrol a new')), tenantId: c.tenantId, factor: { type: 'totp' } },
    });
    await waitFor(c, id, 'completed');
    await save('mfa-reset-completed', id);
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id, 'deny');
    await waitFor(c, id, 'denied');
    await save('mfa-reset-denied', id);
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id);
    await h.testEnv!.sleep('25 hours');
    await waitFor(c, id, 'expired');
    await save('mfa-reset-approval-expired', id);
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id);
    await decide(c.a2.key, id);
    const notice = await mail(c, 'A change to');
    await h.testEnv!.sleep('40 hours');
    await h.api('POST', '/v1/links/cancel', { key: null, body: { token: tokenFrom(notice), tenantId: c.tenantId } });
    await waitFor(c, id, 'cancelled');
    await save('mfa-reset-owner-cancelled-during-wait', id);
  }
  {
    const c = await setup('local', 'admin');
    const id = await mfaToApproval(c);
    await decide(c.a1.key, id);
    await decide(c.a2.key, id);
    await h.testEnv!.sleep('2881 minutes');
    await waitFor(c, id, 'awaiting_completion');
    await h.testEnv!.sleep('16 minutes');
    await waitFor(c, id, 'completed');
    await save('mfa-reset-enrolment-link-expired', id);
  }
});

it('records every path of the invitation workflow', async () => {
  const invited = async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId, { password: null });
    return { tenantId, accountId, ...(await invite(h, tenantId, accountId)) };
  };
  const saveInvitation = async (name: string, i: { id: string; tenantId: string; accountId: string }) => {
    await until('ended', async () => ['registered', 'expired', 'failed'].includes(await invitationState(h, i.id)));
    const row = found(await invitationRow(h.db, i.id), i.id);
    await store(name, row.workflow_id, row.run_id!);
  };
  {
    const i = await invited();
    const secret = await enrol(h, i.tenantId, i.token);
    await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: i.token, tenantId: i.tenantId, code: codeIn(secret) } });
    await h.api('POST', '/v1/links/redeem', { key: null, body: { token: i.token, tenantId: i.tenantId, newPassword: 'recorded-path-passphrase-9' } });
    await saveInvitation('invitation-registered', i);
  }
  {
    const i = await invited();
    await until('pending', async () => (await invitationState(h, i.id)) === 'pending');
    await h.testEnv!.sleep('25 hours');
    await saveInvitation('invitation-expired', i);
  }
});
