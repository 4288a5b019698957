// Item 4, parked workflows: N recoveries waiting for an approval (tenant policy: the standard
// password-reset row needs one approval). Reports the worker's RSS (VmRSS of the worker process)
// idle, with N parked and after resuming, its sticky cache (size setting, workflows cached,
// Core's hit/miss/eviction counters), and the time to resume them all after a worker restart:
// the worker is stopped and started again (empty cache), then one approval per recovery goes
// through the API, and the clock stops once every read-model row has moved on.
import { performance } from 'node:perf_hooks';
import { recoveryCountsIn } from '../store/recoveries';
import { closedLoop, mapLimit } from '../testkit/load';
import { seedPrincipal } from '../testkit/seed';
import { sleep, until } from '../testkit/wait';
import { scrapeMetric, startBenchEngine, type BenchEngine } from './lib/engine';
import { accountOp, startAndTriage, verifyTier1 } from './lib/flows';
import { AccountPool, createTenants, seedAccounts } from './lib/seed';
import { envInt, fmtMiB, fmtMs, fmtNum, summarize, type BenchContext, type Row } from './lib/util';

// One approval for a standard reset; links live an hour (the most policy allows) so that links of
// early resumed recoveries do not expire, and add expiry work, while the rest are still resuming.
const APPROVAL_POLICY = { tokenTtlSeconds: 3600, rules: { password_reset: { standard: { approvals: 1, waitSeconds: 0 } } } };
const CACHE_METRICS = ['temporal_sticky_cache_hit', 'temporal_sticky_cache_miss', 'temporal_sticky_cache_size', 'temporal_sticky_cache_total_forced_eviction'];

async function countState(e: BenchEngine, state: string): Promise<number> {
  // The metrics gauge's read: per kind, so the state's total is their sum.
  const byKind = await recoveryCountsIn(e.db, [state]);
  return byKind.reduce((n, r) => n + Number(r.n), 0);
}

/** Waits until the worker has nothing in flight (two quiet readings in a row), bounded. */
async function settle(e: BenchEngine, timeoutMs: number) {
  let quiet = 0;
  await until(
    'the worker to go quiet',
    async () => {
      const s = await e.worker.status();
      quiet = s.numInFlightActivities === 0 && s.numInFlightWorkflowActivations === 0 ? quiet + 1 : 0;
      return quiet >= 2;
    },
    timeoutMs,
    500,
  );
}

export async function parked(ctx: BenchContext): Promise<Row[]> {
  const n = envInt('BENCH_PARKED_COUNT', ctx.quick ? 60 : 10_000);
  const lanes = envInt('BENCH_PARKED_CONNECTIONS', 16);
  const tenantCount = envInt('BENCH_TENANTS', 4);

  const e = await startBenchEngine({ label: 'parked' });
  try {
    const tenants = await createTenants(e, 'bench-pk', tenantCount, APPROVAL_POLICY);
    ctx.log(`parked: seeding ${n} accounts`);
    const pool = new AccountPool(await seedAccounts(e, tenants, Math.ceil(n / tenantCount)));
    const agent = await seedPrincipal(e, ['agent'], tenants);
    const approver = await seedPrincipal(e, ['approver'], tenants);
    await sleep(1000);
    await e.worker.status({ gc: true });
    const idle = e.worker.rss();
    const ready = e.worker.ready;

    // Park: request + Tier 1 for each account; the workflow then waits for its approval.
    ctx.log(`parked: parking ${n} recoveries (${lanes} concurrent clients)`);
    const ids: string[] = [];
    const park = accountOp(pool, async (a) => {
      const { id, late } = await startAndTriage(e, agent.key, a);
      await verifyTier1(e, agent.key, id);
      ids.push(id);
      return { late };
    });
    const tPark = performance.now();
    const parkRun = await closedLoop({ lanes, seconds: 600 + n, maxOps: Math.ceil(n / tenantCount) * tenantCount, op: park });
    await until(
      `${ids.length} recoveries in awaiting_approval`,
      async () => (await countState(e, 'awaiting_approval')) >= ids.length,
      120_000 + ids.length * 20,
      500,
    );
    const parkSeconds = (performance.now() - tPark) / 1000;
    await settle(e, 300_000);
    const parkedStatus = await e.worker.status({ gc: true });
    const parkedRss = e.worker.rss();
    const parkedCache = await scrapeMetric(e.worker.metricsUrl, CACHE_METRICS);
    ctx.log(
      `parked: ${ids.length} parked in ${parkSeconds.toFixed(0)} s (${fmtNum(ids.length / parkSeconds, 1)}/s), errors ${JSON.stringify(parkRun.errors)}; ` +
        `worker RSS ${fmtMiB(idle.rss)} idle -> ${fmtMiB(parkedRss.rss)} (peak ${fmtMiB(parkedRss.hwm)}); cached ${parkedStatus.numCachedWorkflows} of max ${ready.maxCachedWorkflows}; ` +
        `cache metrics ${JSON.stringify(parkedCache)}`,
    );

    // Restart the worker: graceful stop, new process, empty cache.
    const restart = await e.restartWorker();
    await sleep(500);
    await e.worker.status({ gc: true });
    const restartedRss = e.worker.rss();
    ctx.log(`parked: worker restarted (stop ${restart.stopMs} ms, start to polling ${restart.startMs} ms), RSS ${fmtMiB(restartedRss.rss)}`);

    // Resume: one approval each, through the API; then until every row has left awaiting_approval.
    const t0 = performance.now();
    const answers: number[] = [];
    const errors: Record<string, number> = {};
    await mapLimit(ids, lanes * 2, async (id) => {
      const s0 = performance.now();
      try {
        const r = await e.http.call('POST', `/v1/recoveries/${id}/approvals`, {
          key: approver.key,
          body: { decision: 'approve', comment: 'benchmark' },
          timeoutMs: 60_000,
        });
        if (r.status === 200) answers.push(performance.now() - s0);
        else errors[`approve_http_${r.status}`] = (errors[`approve_http_${r.status}`] ?? 0) + 1;
      } catch (err) {
        const code = (err as Error).name === 'TimeoutError' ? 'timeout' : 'fetch_failed';
        errors[code] = (errors[code] ?? 0) + 1;
      }
    });
    const allAnswered = (performance.now() - t0) / 1000;
    await until(
      'every recovery to move on from awaiting_approval',
      async () => (await countState(e, 'awaiting_approval')) === 0,
      120_000 + ids.length * 50,
      250,
    );
    const allMoved = (performance.now() - t0) / 1000;
    const completing = await countState(e, 'awaiting_completion');
    const ended = ids.length - completing - (await countState(e, 'awaiting_approval'));
    await settle(e, 300_000);
    const resumedStatus = await e.worker.status({ gc: true });
    const resumedRss = e.worker.rss();
    const resumedCache = await scrapeMetric(e.worker.metricsUrl, CACHE_METRICS);
    const lat = summarize(answers);
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    ctx.log(
      `parked: resumed ${ids.length}: all approvals answered in ${allAnswered.toFixed(1)} s (p50 ${fmtMs(lat.p50)}, p95 ${fmtMs(lat.p95)}), all moved on in ${allMoved.toFixed(1)} s, ` +
        `${completing} awaiting completion, ${ended} already ended, errors ${JSON.stringify(errors)}; RSS ${fmtMiB(resumedRss.rss)}; cached ${resumedStatus.numCachedWorkflows}; cache metrics ${JSON.stringify(resumedCache)}`,
    );

    // Parked workflows that are not cached cost the worker nothing: divide by the cached ones.
    const perWf = (parkedRss.rss - idle.rss) / Math.max(1, parkedStatus.numCachedWorkflows);
    // Core creates its counters on first use: absent means none counted yet.
    const m = (x: number) => fmtNum(Number.isFinite(x) ? x : 0);
    const cache = (c: Record<string, number>) =>
      `hits ${m(c.temporal_sticky_cache_hit)}, misses ${m(c.temporal_sticky_cache_miss)}, forced evictions ${m(c.temporal_sticky_cache_total_forced_eviction)}`;
    return [
      {
        item: '4',
        name: `${fmtNum(ids.length)} parked in awaiting_approval: worker memory`,
        figure: `worker RSS ${fmtMiB(idle.rss)} idle -> ${fmtMiB(parkedRss.rss)} parked (+${fmtNum(perWf / 1024, 0)} KiB per cached workflow); ${fmtMiB(restartedRss.rss)} restarted -> ${fmtMiB(resumedRss.rss)} resumed; parked at ${fmtNum(ids.length / parkSeconds, 1)}/s, errors ${parkRun.errorCount}`,
        target: 'report',
        verdict: 'info',
      },
      {
        item: '4',
        name: 'sticky cache',
        figure:
          `max ${fmtNum(ready.maxCachedWorkflows)} (SDK default for a ${fmtNum(ready.heapLimitMiB)} MiB heap); parking: ${fmtNum(parkedStatus.numCachedWorkflows)} cached, ${cache(parkedCache)}; ` +
          `restarted worker (all ${fmtNum(ids.length)} rebuilt from history): ${fmtNum(resumedStatus.numCachedWorkflows)} cached, ${cache(resumedCache)}`,
        target: 'report',
        verdict: 'info',
      },
      {
        item: '4',
        name: `resume ${fmtNum(ids.length)} after a worker restart`,
        figure: `restart ${fmtNum(restart.stopMs + restart.startMs)} ms; all moved on in ${fmtNum(allMoved, 1)} s (${fmtNum(ids.length / allMoved, 1)}/s), approval p50 ${fmtMs(lat.p50)}, p95 ${fmtMs(lat.p95)}, errors ${errorCount}`,
        target: 'report',
        verdict: errorCount ? 'ERRORS' : 'info',
      },
    ];
  } finally {
    await e.close();
  }
}
