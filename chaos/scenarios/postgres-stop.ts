// Stop the engine's Postgres (`pg_ctl stop -m fast` on the run's own cluster) while flows are in
// flight and hammer the API: every answer must be a 503 with Retry-After, never a 500. Then start
// it again: activities retry and every flow completes; nothing is lost.
import { checkCompletedFlows, httpInvariants, inv, processInvariants } from '../lib/checks';
import { startDrillEngine } from '../lib/engine';
import { newStats, runFlows, seed } from '../lib/flow';
import { sleep, untilOrDone } from '../../testkit/wait';
import { engineEvidence, watchStuck, firstOk, firstProgressAfter, hammer, secs, type Scenario } from '../lib/scenario';

export const postgresStop: Scenario = async (ctx) => {
  const p = ctx.quick ? { flows: 10, concurrency: 10, downMs: 5_000 } : { flows: 50, concurrency: 25, downMs: 30_000 };
  const params = `${p.flows} flows (${p.concurrency} at a time), Postgres stopped for ${secs(p.downMs)} once ~30% have verified`;
  const e = await startDrillEngine(ctx, { label: 'postgres-stop' });
  try {
    const s = await seed(e, p.flows, { label: 'ps' });
    const stats = newStats();
    let done = false;
    const running = runFlows(e, s, s.accounts, p.concurrency, stats, { deadlineMs: ctx.quick ? 90_000 : 360_000 }).finally(() => (done = true));
    const watchdog = watchStuck(e, stats, () => done);

    const fired = await untilOrDone(
      () => stats.verified >= Math.ceil(p.flows * 0.3),
      () => done,
      120_000,
    );
    const inFlight = stats.started - stats.completed - stats.failed;
    const stageAtStop = `${stats.started} started, ${stats.verified} verified, ${stats.linked} got a link, ${stats.completed} completed`;
    e.log.phase = 'postgres down';
    const tStop = Date.now();
    await ctx.cluster.stop('fast');
    const stopMs = Date.now() - tStop;
    const tDown = Date.now();
    const { sent: hammered, pending: hammerPending } = await hammer(e, s, stats, () => Date.now() - tDown >= p.downMs, { max: 5000 });
    await sleep(Math.max(0, tDown + p.downMs - Date.now()));
    e.log.phase = 'postgres starting';
    const tStart = Date.now();
    await ctx.cluster.start();
    const startMs = Date.now() - tStart;
    e.log.phase = 'after restart';
    const up = tStart + startMs;
    const okMs = await firstOk(e, s, stats, up, 60_000);
    await hammerPending;
    const results = await running;
    await watchdog;

    const { figures, invariants } = await checkCompletedFlows(e, s, results, { strictNotices: false, settleMs: ctx.quick ? 20_000 : 60_000 });
    const down = 'postgres down';
    figures.unshift(
      ['flows started / completed / failed', `${stats.started} / ${stats.completed} / ${stats.failed}`],
      ['at the stop', `${fired ? '' : '(flows had finished) '}${stageAtStop}; ${inFlight} in flight`],
      ['Postgres down (stop requested -> accepting again)', `${secs(up - tStop)} (pg_ctl stop took ${secs(stopMs)}, start ${secs(startMs)})`],
      ['requests while down (hammer + flows)', `${e.log.select(down).length} (hammer sent ${hammered})`],
      ['503 while down (without Retry-After)', `${e.log.n503(down)} (${e.log.n503WithoutRetryAfter(down)})`],
      ['5xx other than 503 while down', e.log.non503(down)],
      ['first 200 from GET /v1/recoveries/:id after restart', okMs === null ? 'none within 60 s' : secs(okMs)],
      [
        'first flow step done after restart',
        (() => {
          const x = firstProgressAfter(stats, up);
          return x === null ? '-' : secs(x);
        })(),
      ],
      ['transient retries by clients', results.reduce((n, r) => n + r.transientRetries, 0)],
    );
    invariants.unshift(inv('Postgres went down while flows were in flight', fired && inFlight > 0, `${inFlight} in flight`));
    invariants.push(inv('the API answered 503 while Postgres was down', e.log.n503(down) > 0, `statuses while down: ${e.log.histogram(down)}`));
    invariants.push(
      inv(
        'the API answered while Postgres was down (every request got an HTTP answer)',
        e.log.noAnswer(down) === 0,
        `${e.log.noAnswer(down)} requests without an HTTP answer (client timeout or connection refused)`,
      ),
    );
    httpInvariants(e, figures, invariants, [down, 'after restart']);
    processInvariants(e, figures, invariants);
    return { params, figures, invariants, evidence: engineEvidence(e) };
  } finally {
    if (!ctx.cluster.running()) await ctx.cluster.start().catch(() => undefined);
    await e.close();
  }
};
