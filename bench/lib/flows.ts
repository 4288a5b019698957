// The steps of a recovery as an agent and an account owner take them over HTTP, each returning
// an error code on anything but the expected answer.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SinkMessage } from '../../dev/mail-sink';
import { isResetLinkTo, tokensIn } from '../../testkit/mail';
import { recoveryBody } from '../../testkit/seed';
import type { OpOutcome } from '../../testkit/load';
import type { BenchEngine } from './engine';
import { TIER1_ANSWERS, type Account, type AccountPool } from './seed';

export class StepError extends Error {
  constructor(
    readonly code: string,
    detail = '',
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}

/**
 * One operation for a load driver: `steps` on the next unused account. A StepError becomes its
 * code; `late` (triage answered after the API's wait, then polled) is counted as a note; `ms`
 * replaces the driver's own timing.
 */
export function accountOp(pool: AccountPool, steps: (a: Account) => Promise<{ late: boolean; ms?: number }>): () => Promise<OpOutcome> {
  return async () => {
    const a = pool.next();
    if (!a) return { ok: false, code: 'account_pool_exhausted' };
    try {
      const { late, ms } = await steps(a);
      return { ok: true, ...(ms === undefined ? {} : { ms }), ...(late ? { note: 'triage_late' } : {}) };
    } catch (err) {
      if (err instanceof StepError) return { ok: false, code: err.code };
      throw err;
    }
  };
}

/**
 * POST /v1/recoveries; expects 202 with triage's answer `verifying`, or `received` when triage
 * did not answer within the API's 10 s wait (the workflow has started; the caller may poll).
 */
export async function startRecovery(e: BenchEngine, agentKey: string, a: Account): Promise<{ id: string; late: boolean }> {
  const r = await e.http.call('POST', '/v1/recoveries', {
    key: agentKey,
    body: recoveryBody(a.tenantId, a.accountId, { ticketRef: 'BENCH-1' }),
    timeoutMs: 30_000,
  });
  if (r.status !== 202) throw new StepError(`start_http_${r.status}`, r.body?.error?.code ?? r.text.slice(0, 200));
  if (r.body.status !== 'verifying' && r.body.status !== 'received') throw new StepError(`start_state_${r.body.status}`);
  return { id: r.body.id as string, late: r.body.status === 'received' };
}

/** Polls GET /v1/recoveries/:id until `state` (as an agent whose triage answer came late would). */
export async function awaitState(e: BenchEngine, agentKey: string, id: string, state: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await e.http.call('GET', `/v1/recoveries/${id}`, { key: agentKey, timeoutMs: 30_000 });
    if (r.status === 200 && r.body.state === state) return;
    if (r.status === 200 && r.body.state !== 'received' && r.body.state !== state) throw new StepError(`state_${r.body.state}`);
    if (Date.now() > deadline) throw new StepError(`await_${state}_timeout`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Request, and once triage has answered (at once, or by polling when it came late), the id. */
export async function startAndTriage(e: BenchEngine, agentKey: string, a: Account): Promise<{ id: string; late: boolean }> {
  const s = await startRecovery(e, agentKey, a);
  if (s.late) await awaitState(e, agentKey, s.id, 'verifying');
  return s;
}

/** Tier 1 with the right answer; expects it to pass. */
export async function verifyTier1(e: BenchEngine, agentKey: string, id: string): Promise<void> {
  const r = await e.http.call('POST', `/v1/recoveries/${id}/verifications`, { key: agentKey, body: { tier: 1, answers: TIER1_ANSWERS }, timeoutMs: 30_000 });
  if (r.status !== 200) throw new StepError(`verify_http_${r.status}`, r.body?.error?.code ?? r.text.slice(0, 200));
  if (r.body.passed !== true) throw new StepError('verify_not_passed');
}

export const addressOf = (a: Account) => `${a.accountId}@${a.tenantId}.test`;

/** The password-reset link mail for this account, with the monotonic time it reached the sink. */
export async function waitForLinkMail(e: BenchEngine, a: Account, timeoutMs = 60_000): Promise<{ mail: SinkMessage; at: number }> {
  const to = addressOf(a);
  try {
    const mail = await e.sink.waitFor(isResetLinkTo(to), timeoutMs);
    return { mail, at: performance.now() };
  } catch {
    throw new StepError('link_mail_timeout');
  }
}

/** The link token in a mail (testkit's tokensIn), as a step that fails with a code. */
export function linkToken(mail: SinkMessage): string {
  const token = tokensIn(mail)[0];
  if (!token) throw new StepError('no_link_in_mail');
  return token;
}

/** The owner uses the link and sets a new password (argon2id in the API). */
export async function redeem(e: BenchEngine, a: Account, token: string): Promise<void> {
  const newPassword = `lantern-otter-${crypto.randomBytes(4).toString('hex')}-maps`;
  const r = await e.http.call('POST', '/v1/links/redeem', { body: { token, tenantId: a.tenantId, newPassword }, timeoutMs: 30_000 });
  if (r.status !== 200) throw new StepError(`redeem_http_${r.status}`, r.body?.error?.code ?? r.text.slice(0, 200));
}

/** The "password was changed" notice: sent just before the workflow records completion. */
export async function waitForChangedNotice(e: BenchEngine, a: Account, timeoutMs = 60_000): Promise<void> {
  const to = addressOf(a);
  try {
    await e.sink.waitFor((m) => m.to.includes(to) && m.subject.includes('password was changed'), timeoutMs);
  } catch {
    throw new StepError('completion_notice_timeout');
  }
}
