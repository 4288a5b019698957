// What every scenario gets and gives back, plus helpers they share.
import type { DrillEngine, RunSite } from './engine';
import type { Figures, Invariant } from './checks';
import type { FlowStats, Seeded } from './flow';
import { sleep } from '../../testkit/wait';

export interface RunContext extends RunSite {
  quick: boolean;
  seed: number;
}

export interface ScenarioResult {
  name: string;
  params: string;
  figures: Figures;
  invariants: Invariant[];
  /** Extra evidence printed when something failed (API error logs, worker exits, bodies). */
  evidence: string[];
  durationMs: number;
  error?: string;
}

export type Scenario = (ctx: RunContext) => Promise<Omit<ScenarioResult, 'name' | 'durationMs'>>;

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Deterministic PRNG (mulberry32), so a run's fault pattern is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Reads and writes against the API while a dependency is down: GET /v1/recoveries/:id of the
 * flows' recoveries and POST /v1/recoveries for accounts that do not exist (refused at triage if
 * they get through, so they start nothing lasting). At most 4 requests in flight, one new
 * request every `everyMs`, at most `max` in all; stops sending when stop() says so.
 */
export async function hammer(
  e: DrillEngine,
  s: Seeded,
  stats: FlowStats,
  stop: () => boolean,
  o: { everyMs?: number; max: number },
): Promise<{ sent: number; pending: Promise<unknown> }> {
  let sent = 0;
  let inFlight = 0;
  let n = 0;
  const pending = new Set<Promise<unknown>>();
  while (!stop() && sent < o.max) {
    if (inFlight < 4) {
      inFlight++;
      sent++;
      const i = ++n;
      const p =
        i % 2 === 0 && stats.ids.length
          ? e.http.call('GET', `/v1/recoveries/${stats.ids[i % stats.ids.length]}`, { key: s.agentKey, timeoutMs: 20_000 })
          : e.http.call('POST', '/v1/recoveries', {
              key: s.agentKey,
              timeoutMs: 20_000,
              body: {
                tenantId: s.tenantId,
                accountId: `ghost-${i}`,
                kind: 'password_reset',
                reason: 'chaos hammer',
                context: { ip: `198.19.${(i >> 8) & 255}.${i & 255}` },
              },
            });
      const tracked = p.finally(() => {
        inFlight--;
        pending.delete(tracked);
      });
      pending.add(tracked);
    }
    await sleep(o.everyMs ?? 100);
  }
  // Requests still waiting finish on their own (each has a 20 s timeout); the caller awaits them later.
  return { sent, pending: Promise.all([...pending]) };
}

/** Polls GET /v1/recoveries/:id until a 200; returns ms from `since`. Bounded. */
export async function firstOk(e: DrillEngine, s: Seeded, stats: FlowStats, since: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const id = stats.ids[0];
    const r = id
      ? await e.http.call('GET', `/v1/recoveries/${id}`, { key: s.agentKey, timeoutMs: 10_000 })
      : await e.http.call('GET', `/v1/recoveries?tenantId=${s.tenantId}&limit=1`, { key: s.agentKey, timeoutMs: 10_000 });
    if (r.status === 200) return Date.now() - since;
    await sleep(100);
  }
  return null;
}

/** ms from `since` to the first flow step that succeeded after it, or null. */
export function firstProgressAfter(stats: FlowStats, since: number): number | null {
  const t = stats.progress.filter((x) => x >= since).sort((a, b) => a - b)[0];
  return t === undefined ? null : t - since;
}

export function engineEvidence(e: DrillEngine): string[] {
  const out: string[] = [];
  for (const ev of e.log.evidence.slice(0, 10))
    out.push(`HTTP ${ev.status} ${ev.route} [${ev.phase}] at ${ev.at} retry-after=${ev.retryAfter ?? '-'}: ${ev.body}`);
  // The API logs every 5xx (503s too); only a non-503 5xx makes its log lines evidence.
  if (e.log.non503() > 0)
    for (const l of e.apiProc.errorLines.filter((x) => !/ECONNREFUSED|57P0|shutting down/.test(x)).slice(0, 10)) out.push(`API error log: ${l.slice(0, 800)}`);
  for (const [name, p] of [
    ['api', e.apiProc],
    ['worker', e.workerProc],
  ] as const) {
    for (const w of p.events.filter((x) => x.what === 'exited').slice(0, 2))
      out.push(`${name} pid ${w.pid} crashed at ${new Date(w.at).toISOString()} (${w.detail?.slice(-2500)})`);
  }
  return out;
}

/**
 * Every 10 s, asks Temporal about the workflows of running flows: one whose workflow task is on
 * its 4th attempt or later cannot progress by itself (a workflow-code failure or a replay
 * failure), so its flow is failed at once instead of at its deadline. Stops when done().
 */
export async function watchStuck(e: DrillEngine, stats: FlowStats, done: () => boolean): Promise<void> {
  while (!done()) {
    for (const [account, workflowId] of [...stats.active.entries()]) {
      if (stats.doomed.has(account)) continue;
      const d = await e.client.workflow
        .getHandle(workflowId)
        .describe()
        .catch(() => null);
      const attempt = d?.raw.pendingWorkflowTask?.attempt ?? 0;
      if (d && d.status.name === 'RUNNING' && attempt >= 4)
        stats.doomed.set(account, `its workflow task has failed ${attempt - 1} times in a row (Temporal keeps retrying it)`);
    }
    for (let i = 0; i < 100 && !done(); i++) await sleep(100);
  }
}
