// The worker process the benchmarks run: the project's worker wiring (boot/worker.ts, as
// worker/main.ts uses it), plus what a benchmark needs to observe it: Core's Prometheus exporter
// (sticky cache metrics) on BENCH_METRICS_PORT, and Worker.getStatus() answered over the IPC
// channel (after a full GC on request: the process runs with --expose-gc). Started by
// bench/lib/engine.ts.
import v8 from 'node:v8';
import { loadConfig } from '../infra/config';
import { createDb } from '../store/db';
import { createMailer } from '../infra/mailer';
import { once, runMain, runStops, stopOnSignals } from '../boot/process';
import { installWorkerRuntime, quietWorkerLogger, startWorker } from '../boot/worker';

runMain(async () => {
  const metricsPort = process.env.BENCH_METRICS_PORT;
  await installWorkerRuntime({
    logger: quietWorkerLogger(),
    ...(metricsPort ? { metrics: { address: `127.0.0.1:${metricsPort}`, variable: 'BENCH_METRICS_PORT' } } : {}),
  });
  const config = loadConfig();
  if (!config.databaseUrl || !config.smtpUrl) throw new Error('DATABASE_URL and SMTP_URL are required');
  const db = createDb(config.databaseUrl, config.databasePoolMax, { auditKeys: config.auditKeys });
  const mailer = createMailer(config.smtpUrl, config.mailFrom);
  const started = await startWorker({ config, db, mailer });
  const { worker, running } = started;
  process.on('message', (m: { statusRequest?: number; gc?: boolean }) => {
    if (typeof m?.statusRequest !== 'number') return;
    // Started with --expose-gc by the benchmarks, so heap figures can exclude garbage.
    if (m.gc) (globalThis as { gc?: () => void }).gc?.();
    const s = worker.getStatus();
    process.send?.({
      statusReply: m.statusRequest,
      status: {
        numCachedWorkflows: s.numCachedWorkflows,
        numInFlightWorkflowActivations: s.numInFlightWorkflowActivations,
        numInFlightActivities: s.numInFlightActivities,
        runState: s.runState,
        memory: process.memoryUsage(),
      },
    });
  });
  const stop = once(() => runStops([() => started.stop(), () => db.destroy(), () => mailer.close()]));
  stopOnSignals(stop);
  // run() has started polling once the state says so; announce readiness then.
  const deadline = Date.now() + 60_000;
  while (worker.getState() !== 'RUNNING' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  process.stdout.write(
    JSON.stringify({
      benchWorkerReady: {
        pid: process.pid,
        maxCachedWorkflows: worker.options.maxCachedWorkflows,
        maxConcurrentWorkflowTaskExecutions:
          (worker.options.tuner as { workflowTaskSlotSupplier?: { numSlots?: number } }).workflowTaskSlotSupplier?.numSlots ?? null,
        heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 1024 / 1024),
      },
    }) + '\n',
  );
  await running;
  await stop();
  process.disconnect?.();
});
