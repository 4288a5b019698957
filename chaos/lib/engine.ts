// One engine per scenario, run as production runs it: the API (api/server.ts) and the worker
// (worker/main.ts) as separate processes, each supervised like a process manager would (a death
// we did not cause is recorded with its output, then the process is started again). The
// database is cloned from the run's migrated template on the run's own Postgres cluster; the
// SMTP sink (with optional fault injection) lives in this process. This process keeps its own
// small pool for seeding checks, never used while a fault is on.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { dataConverterFor } from '../../infra/codec';
import { loadConfig, type Config } from '../../infra/config';
import type { Database, Db } from '../../infra/db';
import { freePort } from '../../boot/ports';
import { MailSink, type MailSinkOptions } from '../../dev/mail-sink';
import { Api, StatusLog } from './http';
import type { PgCluster } from './pg-cluster';
import { onCleanup, ROOT, sleep, type Child } from './proc';
import { Supervised } from './supervise';

/** Project variables a parent shell might hold; the children get ours only. */
const PROJECT_VARS = [
  'NODE_ENV', 'HOST', 'PORT', 'PUBLIC_BASE_URL', 'DATA_DIR', 'DATABASE_URL', 'DATABASE_POOL_MAX', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS', 'SMTP_URL', 'MAIL_FROM', 'TOKEN_HMAC_KEYS', 'PAYLOAD_CODEC_KEYS', 'CODEC_CORS_ORIGINS',
  'WORKER_METRICS_ADDRESS', 'KNOWLEDGE_HMAC_KEY', 'BOOTSTRAP_ADMIN_KEY', 'POLICY_MODE', 'LOG_LEVEL', 'TRUST_PROXY',
];

export interface Engine {
  label: string;
  dir: string;
  /** This process's own pool on the engine database (checks only). */
  db: Db;
  config: Config;
  client: Client;
  sink: MailSink;
  api: Api;
  log: StatusLog;
  baseUrl: string;
  adminKey: string;
  taskQueue: string;
  dbName: string;
  apiProc: Supervised;
  workerProc: Supervised;
  /** SIGKILL the worker and start a new one. */
  killWorker(): Promise<void>;
  startWorker(): Promise<{ readyMs: number }>;
  close(): Promise<void>;
}

export interface EngineOptions {
  label: string;
  runDir: string;
  cluster: PgCluster;
  template: string;
  temporalAddress: string;
  sink?: Omit<MailSinkOptions, 'host' | 'port'>;
  workerPoolMax?: number;
}

/** A pool whose clients never crash this process when Postgres goes away, checked out or not. */
function checkerDb(url: string): Db {
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {});
  pool.on('connect', (c) => c.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export async function startEngine(o: EngineOptions): Promise<Engine> {
  const dir = fs.mkdtempSync(path.join(o.runDir, `${o.label}-`));
  const dbName = `chaos_${o.label.replace(/[^a-z0-9]/g, '')}_${crypto.randomBytes(3).toString('hex')}`;
  await o.cluster.query(`create database ${dbName} template ${o.template}`);
  onCleanup(`drop database ${dbName}`, async () => {
    if (o.cluster.running()) await o.cluster.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
  });
  const dbUrl = o.cluster.urlFor(dbName);
  const adminKey = `rk_${crypto.randomBytes(32).toString('base64url')}`;
  const taskQueue = `chaos-${o.label}-${crypto.randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const sink = await MailSink.start({ ...(o.sink ?? {}) });
  const closeSink = onCleanup(`close ${o.label} mail sink`, () => sink.close());

  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dir,
    TOKEN_HMAC_KEYS: `c1:${crypto.randomBytes(32).toString('base64')}`,
    KNOWLEDGE_HMAC_KEY: crypto.randomBytes(32).toString('base64'),
    PAYLOAD_CODEC_KEYS: `p1:${crypto.randomBytes(32).toString('base64')}`,
    PUBLIC_BASE_URL: 'http://recovery.test',
    BOOTSTRAP_ADMIN_KEY: adminKey,
    POLICY_MODE: 'dev',
    DATABASE_URL: dbUrl,
    SMTP_URL: sink.url,
    TEMPORAL_ADDRESS: o.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
  };
  const config = loadConfig(env);
  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of PROJECT_VARS) delete baseEnv[k];
  const baseUrl = `http://127.0.0.1:${port}`;

  const apiProc = new Supervised({
    label: `${o.label} api`,
    file: path.join(ROOT, 'api', 'server.ts'),
    env: { ...baseEnv, ...env, LOG_LEVEL: 'warn', DATABASE_POOL_MAX: '10' },
    logFile: path.join(dir, 'api.log'),
    supervise: true,
    async ready(child: Child) {
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (child.exited()) throw new Error(`api exited at start (${child.exitInfo()}):\n${child.tail().slice(-3000)}`);
        try {
          if ((await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) })).status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`api did not answer /healthz within 120 s:\n${child.tail().slice(-3000)}`);
        await sleep(150);
      }
    },
  });
  const workerProc = new Supervised({
    label: `${o.label} worker`,
    file: path.join(ROOT, 'worker', 'main.ts'),
    env: { ...baseEnv, ...env, LOG_LEVEL: 'info', DATABASE_POOL_MAX: String(o.workerPoolMax ?? 5) },
    logFile: path.join(dir, 'worker.log'),
    supervise: true,
    ready: (child) => child.waitForText('worker started', 180_000),
  });
  const closeProcs = onCleanup(`stop ${o.label} api and worker`, async () => {
    await workerProc.close();
    await apiProc.close();
  });
  await Promise.all([apiProc.start(), workerProc.start()]);

  const db = checkerDb(dbUrl);
  const closeDb = onCleanup(`close ${o.label} checker pool`, () => db.destroy());
  const connection = await Connection.connect({ address: o.temporalAddress, connectTimeout: 10_000 });
  const closeConnection = onCleanup(`close ${o.label} temporal connection`, () => connection.close());
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(config.payloadKeys) });
  const log = new StatusLog();

  return {
    label: o.label,
    dir,
    db,
    config,
    client,
    sink,
    api: new Api(baseUrl, log),
    log,
    baseUrl,
    adminKey,
    taskQueue,
    dbName,
    apiProc,
    workerProc,
    killWorker: () => workerProc.kill(),
    startWorker: () => workerProc.start(),
    async close() {
      await closeProcs();
      await closeConnection().catch(() => undefined);
      await closeDb().catch(() => undefined);
      await closeSink();
      if (o.cluster.running()) await o.cluster.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    },
  };
}
