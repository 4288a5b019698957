// A "flow": one low-risk password reset driven over HTTP the way a helpdesk client and an account
// owner would drive it, retrying what a well-behaved client retries (no answer, 503 with
// Retry-After, "idempotency key in progress") and nothing else.
import crypto from 'node:crypto';
import { type ApiResponse } from '../../testkit/http';
import { mapLimit } from '../../testkit/load';
import { resetLinkMails, tokensIn } from '../../testkit/mail';
import { importAccounts, KNOWLEDGE, recoveryBody, seedIngestion, seedLogins, seedPrincipal, seedTenant } from '../../testkit/seed';
import { sleep } from '../../testkit/wait';
import type { DrillEngine } from './engine';

export interface Seeded {
  tenantId: string;
  agentKey: string;
  accounts: string[];
  primary: Map<string, string>;
}

/**
 * A local tenant, an agent, `n` standard accounts with a login history each (through the admin
 * API), and `bounce` more whose primary address is at bounce.test (the sink may refuse those).
 */
export async function seed(e: DrillEngine, n: number, o: { bounce?: number; label: string }): Promise<Seeded> {
  e.log.phase = 'setup';
  const tenantId = await seedTenant(e, 'local', `chaos-${o.label}-${crypto.randomBytes(3).toString('hex')}`.slice(0, 60));
  const agent = await seedPrincipal(e, ['agent'], [tenantId]);
  const accounts: string[] = [];
  const primary = new Map<string, string>();
  const bounce = o.bounce ?? 0;
  for (let i = 0; i < n + bounce; i++) {
    const id = i < n ? `u${String(i).padStart(4, '0')}` : `b${String(i - n).padStart(4, '0')}`;
    accounts.push(id);
    primary.set(id, i < n ? `${id}@${tenantId}.test` : `${id}@bounce.test`);
  }
  const specs = accounts.map((id) => ({ externalId: id, emails: [primary.get(id)!, `${id}.home@example.test`], password: null }));
  await importAccounts(e, tenantId, specs, { batchSize: 250 });
  await seedLogins(e, (await seedIngestion(e, [tenantId])).key, tenantId, accounts, 8);
  e.log.phase = 'normal';
  return { tenantId, agentKey: agent.key, accounts, primary };
}

export type Outcome = 'completed' | 'ended' | 'failed';

export interface FlowResult {
  account: string;
  recoveryId: string | null;
  outcome: Outcome;
  /** Final state seen through the API. */
  state: string | null;
  error?: string;
  startedAt: number;
  endedAt: number;
  /** Links received but found superseded (a newer link followed). */
  supersededLinks: number;
  /** A link we had redeemed with 200 was superseded by a newer one (the first redemption was lost). */
  redeemedThenSuperseded: number;
  linkMails: number;
  transientRetries: number;
  /** When each step succeeded (start, created, verified, redeemed, completed). */
  steps: number[];
}

export interface FlowOptions {
  /** Per-flow bound. */
  deadlineMs: number;
  pollMs?: number;
  /** Longest Retry-After we honour (the API says 5 s; polling faster shows recovery sooner). */
  maxRetryAfterMs?: number;
  /** Stop after verification and wait for any terminal state (used when no link can be delivered). */
  expectEnd?: boolean;
}

export interface FlowStats {
  started: number;
  verified: number;
  linked: number;
  completed: number;
  failed: number;
  /** Timestamps of every successful step of every flow (for time-to-recover figures). */
  progress: number[];
  /** Recovery ids as soon as they are known (for probes and hammering). */
  ids: string[];
  /** Account -> workflow id of flows still running (for the stuck-workflow watchdog). */
  active: Map<string, string>;
  /** Account -> why its workflow can no longer progress (set by the watchdog; the flow then fails at once). */
  doomed: Map<string, string>;
}

export const newStats = (): FlowStats => ({
  started: 0,
  verified: 0,
  linked: 0,
  completed: 0,
  failed: 0,
  progress: [],
  ids: [],
  active: new Map(),
  doomed: new Map(),
});

const TERMINAL = ['completed', 'refused', 'denied', 'cancelled', 'expired', 'failed'];
const PAST_VERIFYING = ['awaiting_completion', 'finalising', 'completed'];

class FlowError extends Error {}

/** What a flow reads of GET /v1/recoveries/:id. */
interface RecoveryAnswer {
  state: string;
  reasons?: unknown[];
}

function isTransient(r: ApiResponse): boolean {
  return r.status === 0 || r.status >= 500 || (r.status === 409 && r.body?.error?.code === 'idempotency_in_progress');
}

export async function runFlow(e: DrillEngine, s: Seeded, account: string, stats: FlowStats, o: FlowOptions): Promise<FlowResult> {
  const startedAt = Date.now();
  const deadline = startedAt + o.deadlineMs;
  const pollMs = o.pollMs ?? 500;
  const maxRA = o.maxRetryAfterMs ?? 3000;
  const address = s.primary.get(account)!;
  const res: FlowResult = {
    account,
    recoveryId: null,
    outcome: 'failed',
    state: null,
    startedAt,
    endedAt: 0,
    supersededLinks: 0,
    redeemedThenSuperseded: 0,
    linkMails: 0,
    transientRetries: 0,
    steps: [startedAt],
  };
  const key = s.agentKey;
  const left = () => deadline - Date.now();
  let lastTransient = '';
  const check = (what: string) => {
    const doomed = stats.doomed.get(account);
    if (doomed) throw new FlowError(`stuck while ${what} (state ${res.state ?? 'unknown'}): ${doomed}`);
    if (left() <= 0)
      throw new FlowError(`deadline passed while ${what} (state ${res.state ?? 'unknown'}${lastTransient ? `; last transient answer: ${lastTransient}` : ''})`);
  };
  const backoff = async (r: ApiResponse) => {
    res.transientRetries++;
    lastTransient = `${r.status} ${r.text.slice(0, 200)}`;
    const ra = Number(r.headers.get('retry-after'));
    await sleep(Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, maxRA) : 500);
  };
  const progress = () => {
    const t = Date.now();
    stats.progress.push(t);
    res.steps.push(t);
  };
  const get = async (): Promise<RecoveryAnswer | null> => {
    const r = await e.http.call<RecoveryAnswer>('GET', `/v1/recoveries/${res.recoveryId}`, { key, timeoutMs: 30_000 });
    if (r.status === 200) {
      res.state = r.body.state;
      return r.body;
    }
    if (!isTransient(r)) throw new FlowError(`GET /v1/recoveries/:id answered ${r.status}: ${r.text.slice(0, 300)}`);
    await backoff(r);
    return null;
  };
  const waitState = async (what: string, pred: (state: string) => boolean): Promise<string> => {
    for (;;) {
      check(`waiting for ${what}`);
      const b = await get();
      if (b && pred(b.state)) return b.state;
      if (b && TERMINAL.includes(b.state) && !pred(b.state))
        throw new FlowError(`ended ${b.state} while waiting for ${what}: ${JSON.stringify(b.reasons ?? [])}`);
      if (b) await sleep(pollMs);
    }
  };

  try {
    // 1. The agent starts the reset. One idempotency key and one body for every retry.
    const body = recoveryBody(s.tenantId, account, { reason: 'chaos drill: cannot sign in', ticketRef: `CHAOS-${account}` });
    const idem = `chaos-${s.tenantId}-${account}`.slice(0, 128);
    stats.started++;
    let inProgressSince: number | null = null;
    for (;;) {
      check('starting the recovery');
      const r = await e.http.call('POST', '/v1/recoveries', { key, body, headers: { 'idempotency-key': idem }, timeoutMs: 60_000 });
      if (r.status === 202) {
        res.recoveryId = r.body.id;
        res.state = r.body.status;
        break;
      }
      if (r.status === 409 && r.body?.error?.code === 'already_active' && r.body.error.details?.id) {
        // An earlier attempt got through before its answer was lost.
        res.recoveryId = r.body.error.details.id;
        break;
      }
      if (r.status === 200 && r.body?.status === 'refused') throw new FlowError(`refused: ${JSON.stringify(r.body.reasons)}`);
      if (r.status === 409 && r.body?.error?.code === 'idempotency_in_progress') {
        // "Still running" is honest for a few seconds; for longer, the first request is gone.
        inProgressSince ??= Date.now();
        if (Date.now() - inProgressSince > 45_000)
          throw new FlowError(
            `POST /v1/recoveries answered 409 idempotency_in_progress for over 45 s (the first request with this key is no longer running): ${r.text.slice(0, 300)}`,
          );
      } else inProgressSince = null;
      if (isTransient(r) || (r.status === 409 && r.body?.error?.code === 'already_active')) {
        await backoff(r);
        continue;
      }
      throw new FlowError(`POST /v1/recoveries answered ${r.status}: ${r.text.slice(0, 300)}`);
    }
    stats.ids.push(res.recoveryId!);
    stats.active.set(account, `recovery:${s.tenantId}:${account}:password_reset`);
    progress();
    await waitState('verifying', (st) => st !== 'received');

    // 2. Tier 1 with the right answer.
    let conflicts = 0;
    for (;;) {
      check('verifying');
      const r = await e.http.call('POST', `/v1/recoveries/${res.recoveryId}/verifications`, {
        key,
        body: { tier: 1, answers: KNOWLEDGE },
        timeoutMs: 90_000,
      });
      if (r.status === 200) {
        if (!r.body.passed) throw new FlowError(`tier 1 did not pass: ${r.text.slice(0, 300)}`);
        break;
      }
      if (r.status === 409) {
        // A retry after a lost answer finds the recovery already past verification.
        const b = await get();
        if (b && PAST_VERIFYING.includes(b.state)) break;
        if (b && TERMINAL.includes(b.state)) throw new FlowError(`ended ${b.state} during verification`);
        // A 409 while the recovery still shows "verifying" can be a moment's race; ten in a row is an answer.
        if (++conflicts >= 10)
          throw new FlowError(
            `POST verifications answered ${r.status} ${r.text.slice(0, 200)} ${conflicts} times in a row while GET /v1/recoveries/:id shows "${b?.state ?? res.state}"`,
          );
        await sleep(pollMs);
        continue;
      }
      if (isTransient(r)) {
        await backoff(r);
        continue;
      }
      throw new FlowError(`POST verifications answered ${r.status}: ${r.text.slice(0, 300)}`);
    }
    stats.verified++;
    progress();

    if (o.expectEnd) {
      // Poll the API for a terminal state; if Temporal says the workflow has closed and the API
      // still shows an active state 5 s later, that is the answer too (it will not change).
      let closedSeen: number | null = null;
      const workflowId = `recovery:${s.tenantId}:${account}:password_reset`;
      for (;;) {
        check('waiting for the recovery to end');
        const b = await get();
        if (b && TERMINAL.includes(b.state)) {
          res.outcome = 'ended';
          return res;
        }
        const d = await e.client.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => null);
        if (d && d.status.name !== 'RUNNING') {
          closedSeen ??= Date.now();
          if (Date.now() - closedSeen > 5000)
            throw new FlowError(`the workflow is ${d.status.name} but GET /v1/recoveries/:id still shows "${b?.state ?? res.state}" 5 s later`);
        }
        await sleep(pollMs);
      }
    }

    // 3. The owner opens the newest link emailed to the primary address and sets a password.
    const tried = new Set<string>();
    let redeemed: string | null = null;
    let linkedCounted = false;
    const newPassword = `chaos-${crypto.randomBytes(6).toString('hex')}-otter-lantern`;
    while (!redeemed) {
      check('waiting for a usable link email');
      const mails = resetLinkMails(e.sink, address);
      res.linkMails = mails.length;
      const fresh = mails.map((m) => tokensIn(m)[0]).filter((t): t is string => !!t && !tried.has(t));
      if (!fresh.length) {
        await sleep(200);
        continue;
      }
      const token = fresh[fresh.length - 1];
      tried.add(token);
      if (!linkedCounted) {
        stats.linked++;
        linkedCounted = true;
      }
      let hadTransient = false;
      for (;;) {
        check('redeeming the link');
        const r = await e.http.call('POST', '/v1/links/redeem', { body: { token, tenantId: s.tenantId, newPassword }, timeoutMs: 60_000 });
        if (r.status === 200) {
          redeemed = token;
          break;
        }
        if (r.status === 404 && r.body?.error?.code === 'link_invalid') {
          if (hadTransient) {
            // Our earlier attempt may have gone through before its answer was lost. The workflow
            // shows a state only once it is recorded, which waits for Postgres: watch it move on,
            // unless a newer link arrives (then this one was superseded).
            const until = Date.now() + 30_000;
            while (!redeemed && Date.now() < until) {
              const b = await get();
              if (b && ['finalising', 'completed'].includes(b.state)) redeemed = token;
              else if (b && TERMINAL.includes(b.state)) break;
              else if (resetLinkMails(e.sink, address).some((m) => !tried.has(tokensIn(m)[0] ?? ''))) break;
              else await sleep(pollMs);
            }
          }
          if (!redeemed) res.supersededLinks++;
          break;
        }
        if (isTransient(r)) {
          hadTransient = true;
          await backoff(r);
          continue;
        }
        throw new FlowError(`POST /v1/links/redeem answered ${r.status}: ${r.text.slice(0, 300)}`);
      }
    }
    progress();

    // 4. The workflow applies the password and completes. A newer link arriving meanwhile means
    // the redemption we were told succeeded no longer counts: recorded, then used like an owner would.
    for (;;) {
      check('waiting for completion');
      const b = await get();
      if (b?.state === 'completed') break;
      if (b && TERMINAL.includes(b.state)) throw new FlowError(`ended ${b.state} after the link was redeemed`);
      if (b?.state === 'awaiting_completion') {
        // Only links that arrived after the one we used: an older unsent-recorded one (superseded
        // before we ever looked) says nothing about our redemption.
        const all = resetLinkMails(e.sink, address).map((m) => tokensIn(m)[0]);
        const newer = all.slice(all.indexOf(redeemed) + 1).filter((t) => t && !tried.has(t));
        if (newer.length) {
          res.redeemedThenSuperseded++;
          const token = newer[newer.length - 1];
          tried.add(token);
          await e.http.call('POST', '/v1/links/redeem', { body: { token, tenantId: s.tenantId, newPassword }, timeoutMs: 60_000 });
        }
      }
      if (b) await sleep(pollMs);
    }
    res.outcome = 'completed';
    res.state = 'completed';
    stats.completed++;
    progress();
    return res;
  } catch (err) {
    res.error = err instanceof FlowError ? err.message : ((err as Error)?.stack ?? String(err));
    res.outcome = 'failed';
    stats.failed++;
    return res;
  } finally {
    stats.active.delete(account);
    res.endedAt = Date.now();
    res.linkMails = resetLinkMails(e.sink, address).length;
  }
}

/** Runs one flow per account, at most `concurrency` at a time; results in account order. */
export function runFlows(e: DrillEngine, s: Seeded, accounts: string[], concurrency: number, stats: FlowStats, o: FlowOptions): Promise<FlowResult[]> {
  return mapLimit(accounts, concurrency, (a) => runFlow(e, s, a, stats, o));
}
