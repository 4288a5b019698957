// `npm start`: the whole engine on embedded defaults, no configuration. A Temporal dev server
// (state in .data/temporal.db, Web UI on TEMPORAL_UI_PORT), PGlite in .data/pglite, migrations, a
// dev mail outbox, the worker and the API, in one command: dev/ supplies the embedded parts and
// boot/ composes the engine on them. Any of TEMPORAL_ADDRESS, DATABASE_URL and SMTP_URL switches
// that part to the real service. Every port it binds is a variable, checked before anything starts.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../infra/config';
import { createLogger } from '../infra/logger';
import { startEngine, type Engine } from '../boot/engine';
import { ensurePortsFree, splitHostPort, type PortClaim } from '../boot/ports';
import { once, runMain, runStops, stopOnSignals, type Stop } from '../boot/process';
import { installWorkerRuntime } from '../boot/worker';
import { lockDataDir } from '../dev/data-dir';
import { MailSink } from '../dev/mail-sink';
import { startEmbeddedPostgres } from '../dev/pglite';
import { temporalCliPath } from '../dev/provision';
import { startDevServer } from '../dev/temporal-dev-server';

const say = (s: string) => process.stdout.write(`${s}\n`);
const LOOPBACK = '127.0.0.1';

/** What this start embeds: a part whose address is configured is the real service instead. */
function embedded(config: Config) {
  return { temporal: !process.env.TEMPORAL_ADDRESS, database: !config.databaseUrl, smtp: !config.smtpUrl };
}

/** The worker's SDK metrics: WORKER_METRICS_ADDRESS, else 127.0.0.1:WORKER_METRICS_PORT. */
function workerMetrics(config: Config) {
  return config.workerMetricsAddress
    ? { address: config.workerMetricsAddress, variable: 'WORKER_METRICS_ADDRESS' }
    : { address: `${LOOPBACK}:${config.devPorts.workerMetrics}`, variable: 'WORKER_METRICS_PORT' };
}

/** Every port this start binds, each with the variable that moves it. */
function portClaims(config: Config): PortClaim[] {
  const e = embedded(config);
  const metrics = workerMetrics(config);
  return [
    { host: config.host, port: config.port, variable: 'PORT', what: 'the API' },
    ...(e.temporal
      ? [
          { host: LOOPBACK, port: config.devPorts.temporal, variable: 'TEMPORAL_DEV_PORT', what: 'the Temporal dev server' },
          { host: LOOPBACK, port: config.devPorts.temporalUi, variable: 'TEMPORAL_UI_PORT', what: 'the Temporal Web UI' },
        ]
      : []),
    ...(e.smtp ? [{ host: LOOPBACK, port: config.devPorts.smtp, variable: 'DEV_SMTP_PORT', what: 'the dev SMTP outbox' }] : []),
    { ...splitHostPort(metrics.address), variable: metrics.variable, what: 'the worker SDK metrics' },
  ];
}

/** Starts the embedded parts, then the engine on them; `stops` collects the undo steps, newest first. */
async function start(config: Config, stops: Stop[]) {
  const e = embedded(config);
  let resolved: Config = { ...config, workerMetricsAddress: workerMetrics(config).address };
  let uiUrl: string | null = null;
  if (e.temporal) {
    say('starting the Temporal dev server...');
    const dev = await startDevServer({
      bin: temporalCliPath(),
      port: config.devPorts.temporal,
      uiPort: config.devPorts.temporalUi,
      // The UI asks the engine's codec by default; a person signs in at /signin for the cookie it takes.
      uiCodecEndpoint: `${config.publicBaseUrl}/codec`,
      dbFile: path.join(config.dataDir, 'temporal.db'),
      logFile: path.join(config.dataDir, 'temporal.log'),
      detached: true,
    });
    stops.unshift(() => dev.stop());
    resolved = { ...resolved, temporal: { ...resolved.temporal, address: dev.address } };
    // The same host name as the engine's links: the sign-in cookie is per site, and 127.0.0.1 and localhost are two.
    uiUrl = new URL(config.publicBaseUrl).hostname === 'localhost' ? `http://localhost:${config.devPorts.temporalUi}` : dev.uiUrl;
  }
  if (e.database) {
    say('starting the embedded database (PGlite)...');
    const pg = await startEmbeddedPostgres(path.join(config.dataDir, 'pglite'));
    stops.unshift(() => pg.stop());
    // PGlite is single-session: one connection, queued.
    resolved = { ...resolved, databaseUrl: pg.url, databasePoolMax: 1 };
  }
  let outboxDir: string | undefined;
  if (e.smtp) {
    outboxDir = path.join(config.dataDir, 'outbox');
    const sink = await MailSink.start({ port: config.devPorts.smtp, dir: outboxDir });
    stops.unshift(() => sink.close());
    resolved = { ...resolved, smtpUrl: sink.url };
  }
  await installWorkerRuntime({ metrics: workerMetrics(config) });
  const engine = await startEngine({ config: resolved, logger: createLogger(config.logLevel, 'engine'), outboxDir });
  stops.unshift(() => engine.stop());
  return { engine, resolved, uiUrl, outboxDir };
}

function banner(config: Config, s: { engine: Engine; resolved: Config; uiUrl: string | null; outboxDir?: string }) {
  const { engine, resolved } = s;
  if (engine.applied.length) say(`migrations applied: ${engine.applied.join(', ')}`);
  const api = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  say('');
  say('Recovery engine is running.');
  say(`  API             ${api}   (OpenAPI: ${api}/docs)`);
  say(`  Temporal        ${resolved.temporal.address}` + (s.uiUrl ? `   Web UI: ${s.uiUrl}` : ''));
  say(`  Database        ${config.databaseUrl ? 'DATABASE_URL' : `PGlite in ${path.join(config.dataDir, 'pglite')}`}`);
  say(`  Mail            ${s.outboxDir ? `dev outbox: ${api}/dev/outbox (files in ${s.outboxDir}), SMTP ${resolved.smtpUrl}` : 'SMTP_URL'}`);
  say(`  Emailed links   ${config.publicBaseUrl}`);
  say(`  Metrics         ${api}/metrics (a "*" metrics or admin API key; worker SDK metrics also on http://${resolved.workerMetricsAddress}/metrics)`);
  say(`  UI data codec   ${config.publicBaseUrl}/codec (the Web UI asks it; CLI: --codec-auth "Bearer <key>")`);
  if (s.uiUrl) {
    say(`  Decoded in UI   sign in at ${config.publicBaseUrl}/signin (paste the admin API key, or get an emailed link as a "*" auditor),`);
    say(`                  then in the Web UI open Data Encoder, set ${config.publicBaseUrl}/codec, tick "Include cross-origin credentials"`);
  }
  say(`  Audit heads     ${config.auditHeadExport.file} (signed, every ${config.auditHeadExport.intervalSeconds} s)`);
  // The embedded database has one role; on Postgres the engine should connect as recovery_runtime.
  if (engine.auditLogRewritable.length) say(`  Database role   single role: it could rewrite the audit log (${engine.auditLogRewritable[0]})`);
  if (engine.admin.apiKey) {
    say('');
    say(`  Admin API key (shown once, store it now): ${engine.admin.apiKey}`);
  } else if (engine.admin.created) {
    say('  Admin API key: the one in BOOTSTRAP_ADMIN_KEY');
  }
  say('');
  say('Ctrl-C stops everything; state stays in ' + config.dataDir);
}

runMain(async () => {
  // npm start is the development entry point: it names its mode, the engine never guesses one.
  process.env.NODE_ENV ||= 'development';
  const config = loadConfig();
  await ensurePortsFree(portClaims(config));
  fs.mkdirSync(config.dataDir, { recursive: true });
  const stops: Stop[] = [lockDataDir(config.dataDir)];
  const stop = once(() => runStops(stops));
  let started;
  try {
    started = await start(config, stops);
  } catch (err) {
    // Nothing half-started stays behind (the dev server runs in its own process group).
    await stop().catch(() => undefined);
    throw err;
  }
  banner(config, started);
  stopOnSignals(stop, { onStopping: () => say('stopping...') });
  try {
    await started.engine.worker!.running;
  } finally {
    await stop();
  }
});
