// Worker process: `npm run worker` (production, docker-compose). Needs DATABASE_URL and SMTP_URL.
import { ConfigError, loadConfig, transportWarnings } from '../infra/config';
import { createDb } from '../store/db';
import { createLogger } from '../infra/logger';
import { createMailer } from '../infra/mailer';
import { once, runMain, runStops, stopOnSignals } from '../boot/process';
import { installWorkerRuntime, startWorker } from '../boot/worker';
import { checkRuntimeRole } from '../boot/api';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'worker');
  for (const w of transportWarnings(config)) log.warn(w);
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for a standalone worker (npm start runs an embedded database)');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL is required for a standalone worker (npm start runs a dev outbox)');
  if (config.workerMetricsAddress) {
    // The SDK's own runtime metrics (task latencies, slots, cache), served for Prometheus.
    await installWorkerRuntime({ metrics: { address: config.workerMetricsAddress, variable: 'WORKER_METRICS_ADDRESS' } });
  }
  const db = createDb(config.databaseUrl, config.databasePoolMax, { auditKeys: config.auditKeys });
  await checkRuntimeRole(db, config);
  const mailer = createMailer(config.smtpUrl, config.mailFrom);
  const worker = await startWorker({ config, db, mailer });
  log.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'worker started');
  const stop = once(() => runStops([() => worker.stop(), () => db.destroy(), () => mailer.close()]));
  stopOnSignals(stop);
  // A fatal worker error rejects here and ends the process with code 1.
  await worker.running;
  await stop();
});
