// Stands up the real engine for a benchmark, as production runs it: the API (api/server.ts) and
// the worker as separate processes, a database cloned from a migrated template on the local
// Postgres, a Temporal dev server of its own (state in a WAL SQLite file under a temp dir) or a
// given Temporal address, and a real SMTP sink in this process.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from '../../infra/db';
import { spawn } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { stopProcess, type DevServer } from '../../dev/temporal-dev-server';
import { provision, temporalCliPath } from '../../dev/provision';
import { freePort } from '../../boot/ports';
import { SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { MailSink } from '../../dev/mail-sink';
import { migrateToLatest } from '../../migrations';
import { onCleanup, ROOT, rssOf, spawnTs, type Child } from './procs';
import { until } from './util';

export interface Shared {
  adminUrl: string;
  template: string;
  workDir: string;
}

let shared: Promise<Shared> | null = null;

/** Once per run: the Postgres URL, a migrated template database and a temp folder. */
export function getShared(): Promise<Shared> {
  shared ??= (async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-bench-'));
    onCleanup('remove bench temp dir', () => fs.rmSync(workDir, { recursive: true, force: true }));
    const adminUrl = process.env.TEST_DATABASE_URL ?? provision('postgres.sh');
    const template = `bench_tpl_${crypto.randomBytes(4).toString('hex')}`;
    await adminQuery(adminUrl, `create database ${template}`);
    onCleanup(`drop ${template}`, () => dropDatabase(adminUrl, template));
    const db = createDb(withDb(adminUrl, template), 1);
    await migrateToLatest(db);
    await db.destroy();
    return { adminUrl, template, workDir };
  })();
  return shared;
}

export function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function adminQuery(adminUrl: string, sqlText: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sqlText);
  } finally {
    await c.end();
  }
}

/** DROP DATABASE ... WITH (FORCE), retried a few times (a client may reconnect in between). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** A fresh database cloned from the template; dropped at cleanup. */
export async function cloneDatabase(s: Shared, label: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `bench_${label.replace(/[^a-z0-9]/g, '')}_${crypto.randomBytes(3).toString('hex')}`;
  await adminQuery(s.adminUrl, `create database ${name} template ${s.template}`);
  const drop = () => dropDatabase(s.adminUrl, name);
  const forget = onCleanup(`drop ${name}`, drop);
  return {
    name,
    url: withDb(s.adminUrl, name),
    async drop() {
      forget();
      await drop();
    },
  };
}

export interface WorkerChild extends Child {
  metricsUrl: string;
  ready: WorkerReady;
  /** Asks the worker for getStatus() and memory (after a full GC when gc is set); bounded. */
  status(o?: { gc?: boolean }): Promise<WorkerStatusReply>;
  rss(): { rss: number; hwm: number };
}

export interface WorkerReady {
  pid: number;
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  heapLimitMiB: number;
  startMs: number;
}

export interface WorkerStatusReply {
  numCachedWorkflows: number;
  numInFlightWorkflowActivations: number;
  numInFlightActivities: number;
  runState: string;
  memory: NodeJS.MemoryUsage;
}

export interface Engine {
  label: string;
  dir: string;
  db: Db;
  dbUrl: string;
  dbName: string;
  sink: MailSink;
  temporalAddress: string;
  dev: DevServer | null;
  baseUrl: string;
  adminKey: string;
  /** The environment the API and worker processes share. */
  env: Record<string, string>;
  api: Child;
  worker: WorkerChild;
  /** Stops the worker gracefully and starts a new one; returns ms from stop request to the new worker polling. */
  restartWorker(): Promise<{ stopMs: number; startMs: number }>;
  close(): Promise<void>;
}

export interface EngineOptions {
  label: string;
  /** Use this Temporal server (namespace default) instead of starting a dev server. */
  temporalAddress?: string;
  /** Extra environment for the API and worker (e.g. DATABASE_POOL_MAX). */
  env?: Record<string, string>;
}

export async function startEngine(o: EngineOptions): Promise<Engine> {
  const s = await getShared();
  const dir = fs.mkdtempSync(path.join(s.workDir, `${o.label}-`));
  const database = await cloneDatabase(s, o.label);
  const db = createDb(database.url, 6);
  const forgetDb = onCleanup(`close ${o.label} pool`, () => db.destroy());
  const sink = await MailSink.start();
  const forgetSink = onCleanup(`close ${o.label} mail sink`, () => sink.close());

  let dev: DevServer | null = null;
  let temporalAddress = o.temporalAddress;
  if (!temporalAddress) {
    // A dev server of our own: its state is the WAL SQLite file named here.
    dev = await startWalDevServer({ port: await freePort(), dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') });
    temporalAddress = dev.address;
  }

  const adminKey = `rk_${crypto.randomBytes(32).toString('base64url')}`;
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: 'http://recovery.test',
    DATA_DIR: dir,
    TOKEN_HMAC_KEYS: `b1:${crypto.randomBytes(32).toString('base64')}`,
    KNOWLEDGE_HMAC_KEY: crypto.randomBytes(32).toString('base64'),
    BOOTSTRAP_ADMIN_KEY: adminKey,
    POLICY_MODE: 'dev',
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    SMTP_URL: sink.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: `bench-${o.label}`,
    ...o.env,
  };
  const baseUrl = `http://127.0.0.1:${port}`;

  const api = spawnTs(`${o.label} api`, path.join(ROOT, 'api', 'server.ts'), env, { logFile: path.join(dir, 'api.log') });
  let worker = await startWorker(o.label, env, dir);
  await until(
    `${o.label} api /healthz`,
    async () => {
      if (api.exited()) throw new Error(`${o.label} api exited at start:\n${api.tail().slice(-4000)}`);
      try {
        return (await fetch(`${baseUrl}/healthz`)).status === 200;
      } catch {
        return false;
      }
    },
    90_000,
    200,
  );

  const engine: Engine = {
    label: o.label,
    dir,
    db,
    dbUrl: database.url,
    dbName: database.name,
    sink,
    temporalAddress,
    dev,
    baseUrl,
    adminKey,
    env,
    api,
    get worker() {
      return worker;
    },
    async restartWorker() {
      const t0 = Date.now();
      await worker.stop(30_000);
      const stopMs = Date.now() - t0;
      worker = await startWorker(o.label, env, dir);
      return { stopMs, startMs: Date.now() - t0 - stopMs };
    },
    async close() {
      await api.stop(5000);
      await worker.stop(10_000);
      forgetDb();
      await db.destroy();
      forgetSink();
      await sink.close();
      if (dev) await dev.stop();
      await database.drop();
    },
  };
  return engine;
}

let statusSeq = 0;

/** bench/worker-child.ts: the project's worker wiring plus status over IPC and Prometheus metrics. */
export async function startWorker(label: string, env: Record<string, string>, dir: string): Promise<WorkerChild> {
  const metricsPort = await freePort();
  const t0 = Date.now();
  const child = spawnTs(`${label} worker`, path.join(ROOT, 'bench', 'worker-child.ts'), { ...env, BENCH_METRICS_PORT: String(metricsPort) }, { logFile: path.join(dir, 'worker.log'), ipc: true, nodeArgs: ['--expose-gc'] });
  const ready = await child.waitForLine<WorkerReady>((line) => {
    if (!line.startsWith('{"benchWorkerReady"')) return undefined;
    return JSON.parse(line).benchWorkerReady as WorkerReady;
  }, 120_000);
  ready.startMs = Date.now() - t0;
  return {
    ...child,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    ready,
    rss: () => rssOf(child.pid),
    status(so: { gc?: boolean } = {}) {
      const id = ++statusSeq;
      return new Promise<WorkerStatusReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.proc.off('message', onMsg);
          reject(new Error(`${label} worker: no status answer within 10 s`));
        }, 10_000);
        const onMsg = (m: unknown) => {
          const msg = m as { statusReply?: number; status?: WorkerStatusReply };
          if (msg.statusReply !== id || !msg.status) return;
          clearTimeout(timer);
          child.proc.off('message', onMsg);
          resolve(msg.status);
        };
        child.proc.on('message', onMsg);
        child.proc.send({ statusRequest: id, gc: so.gc === true });
      });
    },
  };
}

/** Sums a Prometheus metric family (all label sets) from the worker's exporter; NaN when absent. */
export async function scrapeMetric(metricsUrl: string, names: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Record<string, number> = {};
  for (const name of names) {
    let sum = NaN;
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)/.exec(line);
      if (!m || m[1] !== name) continue;
      sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[3]);
    }
    out[name] = sum;
  }
  return out;
}

/**
 * The Temporal CLI dev server on a SQLite file in WAL mode. dev/temporal-dev-server.ts starts it with
 * SQLite's default rollback journal; `--sqlite-pragma journal_mode=WAL` is what makes the file a
 * WAL one. BENCH_SQLITE_PRAGMAS adds more (e.g. "synchronous=NORMAL"; the default is FULL).
 */
export async function startWalDevServer(o: { port: number; dbFile: string; logFile: string }): Promise<DevServer> {
  const pragmas = ['journal_mode=WAL', ...(process.env.BENCH_SQLITE_PRAGMAS ?? '').split(',').map((p) => p.trim()).filter(Boolean)];
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--namespace', 'default', '--log-level', 'warn', '--headless', '--db-filename', o.dbFile];
  for (const p of pragmas) args.push('--sqlite-pragma', p);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const log = fs.openSync(o.logFile, 'a');
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = () => stopProcess(child, 5000);
  const forget = onCleanup(`stop dev server (pid ${child.pid})`, stop);
  const address = `127.0.0.1:${o.port}`;
  await until(
    'the Temporal dev server',
    async () => {
      if (exited) throw new Error(`the Temporal dev server exited at start; see ${o.logFile}:\n${fs.readFileSync(o.logFile, 'utf8').slice(-2000)}`);
      try {
        const c = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          const ns = await c.operatorService.listSearchAttributes({ namespace: 'default' });
          return Object.keys(SEARCH_ATTRIBUTES).every((k) => k in (ns.customAttributes ?? {}));
        } finally {
          await c.close();
        }
      } catch {
        return false;
      }
    },
    60_000,
    250,
  );
  return {
    address,
    uiUrl: null,
    process: child,
    async stop() {
      forget();
      await stop();
    },
  };
}
