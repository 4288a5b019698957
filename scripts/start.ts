// `npm start`: the whole engine on embedded defaults, no configuration. A Temporal dev server
// (state in .data/temporal.db, Web UI on 8233), PGlite in .data/pglite, migrations, a dev mail
// outbox, the worker and the API, in one command. Any of TEMPORAL_ADDRESS, DATABASE_URL and
// SMTP_URL switches that part to the real service.
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../infra/config';
import { createDb } from '../infra/db';
import { startDevServer, type DevServer } from '../dev/temporal-dev-server';
import { temporalCliPath } from '../dev/provision';
import { createLogger } from '../infra/logger';
import { createMailer } from '../infra/mailer';
import { MailSink } from '../dev/mail-sink';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../dev/pglite';
import { connectClient, connectionOptions, ensureSearchAttributes } from '../infra/temporal';
import { ensureBootstrapAdmin } from '../infra/bootstrap';
import { migrateToLatest } from '../migrations';
import { buildApp } from '../api/app';
import { createRecoveryWorker } from '../worker/worker';

async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'engine');
  fs.mkdirSync(config.dataDir, { recursive: true });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const stops: (() => Promise<unknown> | unknown)[] = [];

  let temporal = { ...config.temporal };
  let dev: DevServer | null = null;
  if (!process.env.TEMPORAL_ADDRESS) {
    say('starting the Temporal dev server...');
    const port = Number(process.env.TEMPORAL_DEV_PORT ?? 7233);
    const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
    dev = await startDevServer({ bin: temporalCliPath(), port, uiPort, dbFile: path.join(config.dataDir, 'temporal.db'), logFile: path.join(config.dataDir, 'temporal.log') });
    temporal = { ...temporal, address: dev.address };
    stops.unshift(() => dev!.stop());
  }

  let dbUrl = config.databaseUrl;
  let poolMax = config.databasePoolMax;
  let pg: EmbeddedPostgres | null = null;
  if (!dbUrl) {
    say('starting the embedded database (PGlite)...');
    pg = await startEmbeddedPostgres(path.join(config.dataDir, 'pglite'));
    dbUrl = pg.url;
    poolMax = 1; // PGlite is single-session: one connection, queued
    stops.unshift(() => pg!.stop());
  }
  const db = createDb(dbUrl, poolMax);
  stops.unshift(() => db.destroy());
  const applied = await migrateToLatest(db);
  if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
  const admin = await ensureBootstrapAdmin(db, config.bootstrapAdminKey);

  let smtpUrl = config.smtpUrl;
  let outboxDir: string | undefined;
  if (!smtpUrl) {
    outboxDir = path.join(config.dataDir, 'outbox');
    const sink = await MailSink.start({ port: Number(process.env.DEV_SMTP_PORT ?? 1025), dir: outboxDir });
    smtpUrl = sink.url;
    stops.unshift(() => sink.close());
  }
  const mailer = createMailer(smtpUrl, config.mailFrom);

  // The worker's SDK metrics on their own port; the API's /metrics appends them.
  const workerMetricsAddress = config.workerMetricsAddress ?? `127.0.0.1:${process.env.WORKER_METRICS_PORT ?? 9464}`;
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: workerMetricsAddress } } } });
  const client = await connectClient(temporal, config.payloadKeys);
  const searchAttributes = await ensureSearchAttributes(client, temporal.namespace);
  const connection = await NativeConnection.connect(connectionOptions(temporal));
  const worker = await createRecoveryWorker({ connection, namespace: temporal.namespace, taskQueue: temporal.taskQueue, deps: { db, mailer, config } });
  const running = worker.run();
  stops.unshift(async () => {
    worker.shutdown();
    await running;
    await connection.close();
  });

  const app = await buildApp({ db, temporal: client, config: { ...config, workerMetricsAddress }, taskQueue: temporal.taskQueue, searchAttributes, logger: log, outboxDir });
  await app.listen({ host: config.host, port: config.port });
  stops.unshift(() => app.close());

  const api = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  say('');
  say('Recovery engine is running.');
  say(`  API             ${api}   (OpenAPI: ${api}/docs)`);
  say(`  Temporal        ${temporal.address}` + (dev?.uiUrl ? `   Web UI: ${dev.uiUrl}` : ''));
  say(`  Database        ${pg ? `PGlite in ${path.join(config.dataDir, 'pglite')}` : 'DATABASE_URL'}`);
  say(`  Mail            ${outboxDir ? `dev outbox: ${api}/dev/outbox (files in ${outboxDir}), SMTP ${smtpUrl}` : 'SMTP_URL'}`);
  say(`  Emailed links   ${config.publicBaseUrl}`);
  say(`  Metrics         ${api}/metrics (worker SDK metrics also on http://${workerMetricsAddress}/metrics)`);
  say(`  UI data codec   ${api}/codec (Temporal UI: Data Encoder; needs an auditor or admin API key)`);
  if (admin.apiKey) {
    say('');
    say(`  Admin API key (shown once, store it now): ${admin.apiKey}`);
  } else if (admin.created) {
    say('  Admin API key: the one in BOOTSTRAP_ADMIN_KEY');
  }
  say('');
  say('Ctrl-C stops everything; state stays in ' + config.dataDir);

  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, async () => {
      if (stopping) return;
      stopping = true;
      say('stopping...');
      for (const stop of stops) await Promise.resolve(stop()).catch((e) => log.warn({ err: String(e) }, 'stop failed'));
      process.exit(0);
    });
  }
  await running;
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `config error: ${err.message}` : err);
  process.exit(1);
});
