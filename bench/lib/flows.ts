// The steps of a recovery as an agent and an account owner take them over HTTP, each returning
// an error code on anything but the expected answer.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SinkMessage } from '../../dev/mail-sink';
import type { Engine } from './engine';
import { http, type Account } from './seed';
import { HOME_CONTEXT, KNOWLEDGE, nextIp } from './util';

export class StepError extends Error {
  constructor(readonly code: string, detail = '') {
    super(detail ? `${code}: ${detail}` : code);
  }
}

export function recoveryBody(a: Account, kind = 'password_reset') {
  return { tenantId: a.tenantId, accountId: a.accountId, kind, reason: 'cannot sign in', ticketRef: 'BENCH-1', context: { ip: nextIp(), ...HOME_CONTEXT } };
}

/**
 * POST /v1/recoveries; expects 202 with triage's answer `verifying`, or `received` when triage
 * did not answer within the API's 10 s wait (the workflow has started; the caller may poll).
 */
export async function startRecovery(e: Engine, agentKey: string, a: Account): Promise<{ id: string; late: boolean }> {
  const r = await http(e.baseUrl, 'POST', '/v1/recoveries', { key: agentKey, body: recoveryBody(a), timeoutMs: 30_000 });
  if (r.status !== 202) throw new StepError(`start_http_${r.status}`, r.body?.error?.code ?? r.text.slice(0, 200));
  if (r.body.status !== 'verifying' && r.body.status !== 'received') throw new StepError(`start_state_${r.body.status}`);
  return { id: r.body.id as string, late: r.body.status === 'received' };
}

/** Polls GET /v1/recoveries/:id until `state` (as an agent whose triage answer came late would). */
export async function awaitState(e: Engine, agentKey: string, id: string, state: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await http(e.baseUrl, 'GET', `/v1/recoveries/${id}`, { key: agentKey, timeoutMs: 30_000 });
    if (r.status === 200 && r.body.state === state) return;
    if (r.status === 200 && r.body.state !== 'received' && r.body.state !== state) throw new StepError(`state_${r.body.state}`);
    if (Date.now() > deadline) throw new StepError(`await_${state}_timeout`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Request, and once triage has answered (at once, or by polling when it came late), the id. */
export async function startAndTriage(e: Engine, agentKey: string, a: Account): Promise<{ id: string; late: boolean }> {
  const s = await startRecovery(e, agentKey, a);
  if (s.late) await awaitState(e, agentKey, s.id, 'verifying');
  return s;
}

/** Tier 1 with the right answer; expects it to pass. */
export async function verifyTier1(e: Engine, agentKey: string, id: string): Promise<void> {
  const r = await http(e.baseUrl, 'POST', `/v1/recoveries/${id}/verifications`, { key: agentKey, body: { tier: 1, answers: KNOWLEDGE }, timeoutMs: 30_000 });
  if (r.status !== 200) throw new StepError(`verify_http_${r.status}`, r.body?.error?.code ?? r.text.slice(0, 200));
  if (r.body.passed !== true) throw new StepError('verify_not_passed');
}

export const addressOf = (a: Account) => `${a.accountId}@${a.tenantId}.test`;

/** The password-reset link mail for this account, with the monotonic time it reached the sink. */
export async function waitForLinkMail(e: Engine, a: Account, timeoutMs = 60_000): Promise<{ mail: SinkMessage; at: number }> {
  const to = addressOf(a);
  try {
    const mail = await e.sink.waitFor((m) => m.to.includes(to) && m.subject.includes('Reset your'), timeoutMs);
    return { mail, at: performance.now() };
  } catch {
    throw new StepError('link_mail_timeout');
  }
}

export function tokenFrom(mail: SinkMessage): string {
  const m = /#([A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{43})/.exec(mail.text);
  if (!m) throw new StepError('no_link_in_mail');
  return m[1];
}

/** The owner uses the link and sets a new password (argon2id in the API). */
export async function redeem(e: Engine, a: Account, token: string): Promise<void> {
  const newPassword = `lantern-otter-${crypto.randomBytes(4).toString('hex')}-maps`;
  const r = await http(e.baseUrl, 'POST', '/v1/links/redeem', { body: { token, tenantId: a.tenantId, newPassword }, timeoutMs: 30_000 });
  if (r.status !== 200) throw new StepError(`redeem_http_${r.status}`, r.body?.error?.code ?? r.text.slice(0, 200));
}

/** The "password was changed" notice: sent just before the workflow records completion. */
export async function waitForChangedNotice(e: Engine, a: Account, timeoutMs = 60_000): Promise<void> {
  const to = addressOf(a);
  try {
    await e.sink.waitFor((m) => m.to.includes(to) && m.subject.includes('password was changed'), timeoutMs);
  } catch {
    throw new StepError('completion_notice_timeout');
  }
}
