// SIGKILL the worker process K times while N password resets run; a new worker is started after
// each kill. Every flow must complete with exactly one email per token and no duplicate rows.
import { checkCompletedFlows, httpInvariants, inv, processInvariants } from '../lib/checks';
import { untilOrDone } from '../../testkit/wait';
import { startDrillEngine } from '../lib/engine';
import { newStats, runFlows, seed } from '../lib/flow';
import { engineEvidence, watchStuck, firstProgressAfter, prng, secs, type Scenario } from '../lib/scenario';

export const workerKill: Scenario = async (ctx) => {
  const p = ctx.quick ? { flows: 20, kills: 2, concurrency: 10 } : { flows: 200, kills: 10, concurrency: 20 };
  const params = `${p.flows} flows (${p.concurrency} at a time), ${p.kills} SIGKILLs of worker/main.ts`;
  const rand = prng(ctx.seed ^ 0x1111);
  const e = await startDrillEngine(ctx, { label: 'worker-kill' });
  try {
    const s = await seed(e, p.flows, { label: 'wk' });
    const stats = newStats();
    const t0 = Date.now();
    let done = false;
    const running = runFlows(e, s, s.accounts, p.concurrency, stats, { deadlineMs: ctx.quick ? 120_000 : 600_000 }).finally(() => (done = true));
    const watchdog = watchStuck(e, stats, () => done);

    // Kill i waits until i/(K+1) of the flows have completed or the current worker has been up
    // for a while, and always for 1.5-4 s of its uptime (a random point of its work), so the
    // kills land while flows are in flight and at different stages.
    const kills: { at: number; readyMs: number; recoverMs: number | null; inFlight: number }[] = [];
    const maxUp = ctx.quick ? 6_000 : 12_000;
    for (let i = 1; i <= p.kills; i++) {
      const threshold = Math.floor((i * p.flows) / (p.kills + 1));
      const minUp = 1500 + rand() * 2500;
      const ready = await untilOrDone(
        () => {
          const up = Date.now() - e.workerProc.lastStartedAt();
          return up >= minUp && (stats.completed >= threshold || up >= maxUp) && stats.started - stats.completed - stats.failed > 0;
        },
        () => done,
        ctx.quick ? 150_000 : 600_000,
      );
      if (!ready) break;
      if (done) break;
      const at = Date.now();
      const inFlight = stats.started - stats.completed - stats.failed;
      await e.killWorker();
      const { readyMs } = await e.startWorker();
      kills.push({ at, readyMs, recoverMs: null, inFlight });
    }
    const results = await running;
    await watchdog;
    for (const k of kills) k.recoverMs = firstProgressAfter(stats, k.at + k.readyMs);

    const { figures, invariants } = await checkCompletedFlows(e, s, results, { strictNotices: false, settleMs: ctx.quick ? 20_000 : 60_000 });
    const ok = results.filter((r) => r.outcome === 'completed');
    const dur = (xs: number[]) => (xs.length ? `${secs(xs.reduce((a, b) => a + b, 0) / xs.length)} avg, ${secs(Math.max(...xs))} max` : '-');
    figures.unshift(
      ['flows started / completed / failed', `${stats.started} / ${stats.completed} / ${stats.failed}`],
      ['worker SIGKILLs', `${kills.length} (flows in flight at each: ${kills.map((k) => k.inFlight).join(', ') || '-'})`],
      ['worker restart (kill -> polling again)', dur(kills.map((k) => k.readyMs))],
      ['time to recover (new worker -> next flow step done)', dur(kills.map((k) => k.recoverMs).filter((x): x is number => x !== null))],
      ['flow duration', dur(ok.map((r) => r.endedAt - r.startedAt))],
      ['wall time for the flows', secs(Date.now() - t0)],
      ['transient retries by clients', results.reduce((n, r) => n + r.transientRetries, 0)],
    );
    invariants.unshift(inv(`worker killed ${p.kills} times during the flows`, kills.length === p.kills, `${kills.length}/${p.kills}`));
    httpInvariants(e, figures, invariants);
    processInvariants(e, figures, invariants);
    return { params, figures, invariants, evidence: engineEvidence(e) };
  } finally {
    await e.close();
  }
};
