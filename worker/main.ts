// Worker process: `npm run worker` (production, docker-compose). Needs DATABASE_URL and SMTP_URL.
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../infra/config';
import { createDb } from '../infra/db';
import { createLogger } from '../infra/logger';
import { createMailer } from '../infra/mailer';
import { connectionOptions } from '../infra/temporal';
import { createRecoveryWorker } from './worker';

async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'worker');
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for a standalone worker (npm start runs an embedded database)');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL is required for a standalone worker (npm start runs a dev outbox)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  const mailer = createMailer(config.smtpUrl, config.mailFrom);
  if (config.workerMetricsAddress) {
    // The SDK's own runtime metrics (task latencies, slots, cache), served for Prometheus.
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: config.workerMetricsAddress } } } });
  }
  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  const worker = await createRecoveryWorker({ connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, deps: { db, mailer, config } });
  log.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'worker started');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => worker.shutdown());
  await worker.run();
  await connection.close();
  await db.destroy();
  mailer.close();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `config error: ${err.message}` : err);
  process.exit(1);
});
