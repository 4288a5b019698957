// Stop the Temporal dev server (file-backed: its state is a SQLite file) while flows are in
// flight, keep it down for a while, start it again on the same port and file. Every flow resumes.
import path from 'node:path';
import { freePort } from '../../boot/ports';
import type { DevServer } from '../../dev/temporal-dev-server';
import { startRunDevServer } from '../../testkit/temporal';
import { checkCompletedFlows, httpInvariants, inv, processInvariants } from '../lib/checks';
import { startDrillEngine } from '../lib/engine';
import { newStats, runFlows, seed } from '../lib/flow';
import { sleep, untilOrDone } from '../../testkit/wait';
import { engineEvidence, watchStuck, firstOk, firstProgressAfter, hammer, secs, type Scenario } from '../lib/scenario';

export const temporalRestart: Scenario = async (ctx) => {
  const p = ctx.quick ? { flows: 10, concurrency: 10, downMs: 5_000 } : { flows: 50, concurrency: 25, downMs: 20_000 };
  const params = `${p.flows} flows (${p.concurrency} at a time), dev server stopped for ${secs(p.downMs)} once ~30% have verified`;
  const port = await freePort();
  const dbFile = path.join(ctx.runDir, 'temporal-restart.db');
  const logFile = path.join(ctx.runDir, 'temporal-restart.log');
  let dev: DevServer = await startRunDevServer({ port, dbFile, logFile });
  const e = await startDrillEngine(ctx, { label: 'temporal-restart', temporalAddress: dev.address });
  try {
    const s = await seed(e, p.flows, { label: 'tr' });
    const stats = newStats();
    let done = false;
    const running = runFlows(e, s, s.accounts, p.concurrency, stats, { deadlineMs: ctx.quick ? 90_000 : 300_000 }).finally(() => (done = true));
    const watchdog = watchStuck(e, stats, () => done);

    const fired = await untilOrDone(
      () => stats.verified >= Math.ceil(p.flows * 0.3),
      () => done,
      120_000,
    );
    const inFlight = stats.started - stats.completed - stats.failed;
    const stageAtStop = `${stats.started} started, ${stats.verified} verified, ${stats.linked} got a link, ${stats.completed} completed`;
    e.log.phase = 'temporal down';
    const tStop = Date.now();
    await dev.stop();
    const stopMs = Date.now() - tStop;
    // Down from the moment the process is gone (stop() sends SIGTERM, and SIGKILL after 5 s).
    const tDown = Date.now();
    const { sent: hammered, pending: hammerPending } = await hammer(e, s, stats, () => Date.now() - tDown >= p.downMs, { max: 2000 });
    await sleep(Math.max(0, tDown + p.downMs - Date.now()));
    e.log.phase = 'temporal restarting';
    const tStart = Date.now();
    dev = await startRunDevServer({ port, dbFile, logFile });
    const startMs = Date.now() - tStart;
    e.log.phase = 'after restart';
    const okMs = await firstOk(e, s, stats, tStart + startMs, 60_000);
    await hammerPending;
    const results = await running;
    await watchdog;

    const { figures, invariants } = await checkCompletedFlows(e, s, results, { strictNotices: false, settleMs: ctx.quick ? 20_000 : 60_000 });
    figures.unshift(
      ['flows started / completed / failed', `${stats.started} / ${stats.completed} / ${stats.failed}`],
      ['at the stop', `${fired ? '' : '(flows had finished) '}${stageAtStop}; ${inFlight} in flight`],
      [
        'dev server down (stop requested -> answering again)',
        `${secs(tStart + startMs - tStop)} (stop took ${secs(stopMs)}${stopMs >= 5000 ? ': SIGTERM did not end it, SIGKILL after 5 s' : ''}, start took ${secs(startMs)})`,
      ],
      ['requests while down (hammer)', hammered],
      ['first 200 from GET /v1/recoveries/:id after restart', okMs === null ? 'none within 60 s' : secs(okMs)],
      [
        'first flow step done after restart',
        (() => {
          const x = firstProgressAfter(stats, tStart + startMs);
          return x === null ? '-' : secs(x);
        })(),
      ],
      ['transient retries by clients', results.reduce((n, r) => n + r.transientRetries, 0)],
    );
    invariants.unshift(inv('the restart happened while flows were in flight', fired && inFlight > 0, `${inFlight} in flight`));
    httpInvariants(e, figures, invariants, ['temporal down', 'after restart']);
    processInvariants(e, figures, invariants);
    return { params, figures, invariants, evidence: engineEvidence(e) };
  } finally {
    await e.close();
    await dev.stop();
  }
};
