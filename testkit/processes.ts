// One engine run as production runs it, for a benchmark or a drill: the API (api/server.ts) and a
// worker (worker/main.ts, or a variant that reports more) as separate processes, optionally
// supervised like a process manager would (a death we did not cause is recorded with its output,
// then the process is started again); a database cloned from the run's migrated template; a real
// SMTP sink (with optional fault injection) and a small pool of our own in this process.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../boot/ports';
import { MailSink, type MailSinkOptions } from '../dev/mail-sink';
import { loadConfig, type Config } from '../infra/config';
import { createDb, type Db } from '../store/db';
import { cloneDatabase } from './db';
import { newAdminKey, testEngineEnv } from './env';
import { ApiClient, type CallRecorder } from './http';
import { onCleanup, ROOT, sleep, type Child } from './procs';
import { Supervised } from './supervise';

export interface ProcessEngineOptions<W> {
  label: string;
  /** This engine's folder (logs, data dir) is created inside. */
  parentDir: string;
  /**
   * The cluster and the migrated template to clone. The chaos drills drop the clone only while
   * their cluster runs and ignore a failed drop (`dropWhen`, `ignoreDropErrors`); the benchmarks
   * want to hear about it.
   */
  database: { adminUrl: string; template: string; prefix: string; dropWhen?: () => boolean; ignoreDropErrors?: boolean };
  temporalAddress: string;
  taskQueuePrefix: string;
  sink?: Omit<MailSinkOptions, 'host' | 'port' | 'dir'>;
  /** Environment of both processes on top of the test engine's (e.g. DATABASE_POOL_MAX); LOG_LEVEL defaults to warn (API) and info (worker). */
  env?: Record<string, string>;
  /** Restart a process that died on its own (the chaos drills); off: a death is only recorded. */
  supervise: boolean;
  /** Node flags for both processes. */
  nodeArgs?: string[];
  worker?: {
    /** Default worker/main.ts, ready once it logs "worker started". */
    file?: string;
    env?: Record<string, string>;
    ready?: (child: Child) => Promise<W>;
    ipc?: boolean;
    nodeArgs?: string[];
  };
  /** Size of this process's own pool on the engine database. */
  poolMax: number;
  /** Records every API call (the chaos drills). */
  recorder?: CallRecorder;
}

export interface ProcessEngine<W = void> {
  label: string;
  dir: string;
  /** What both processes got (the API's PORT included). */
  env: Record<string, string>;
  config: Config;
  adminKey: string;
  baseUrl: string;
  taskQueue: string;
  dbName: string;
  dbUrl: string;
  /** This process's own pool on the engine database (setup and checks). */
  db: Db;
  sink: MailSink;
  /** The API client (60 s per call unless told otherwise; no default key). */
  http: ApiClient;
  apiProc: Supervised;
  workerProc: Supervised<W>;
  /** Stops the worker, then the API, then drops the database. */
  close(): Promise<void>;
}

/** Polls /healthz until it answers 200; fails if the process exits first. */
async function apiReady(baseUrl: string, child: Child): Promise<void> {
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
}

export async function startProcessEngine<W = void>(o: ProcessEngineOptions<W>): Promise<ProcessEngine<W>> {
  const dir = fs.mkdtempSync(path.join(o.parentDir, `${o.label}-`));
  const database = await cloneDatabase(o.database.adminUrl, o.database.template, `${o.database.prefix}_${o.label}`, { dropWhen: o.database.dropWhen });
  const adminKey = newAdminKey();
  const taskQueue = `${o.taskQueuePrefix}-${o.label}-${crypto.randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const sink = await MailSink.start({ ...(o.sink ?? {}) });
  const sinkCleanup = onCleanup(`close ${o.label} mail sink`, () => sink.close());
  const env: Record<string, string> = {
    ...testEngineEnv({ dataDir: dir, adminKey }),
    PORT: String(port),
    DATABASE_URL: database.runtimeUrl,
    MIGRATION_DATABASE_URL: database.url,
    SMTP_URL: sink.url,
    TEMPORAL_ADDRESS: o.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...o.env,
  };
  const baseUrl = `http://127.0.0.1:${port}`;

  const apiProc = new Supervised({
    label: `${o.label} api`,
    file: path.join(ROOT, 'api', 'server.ts'),
    env: { LOG_LEVEL: 'warn', ...env },
    logFile: path.join(dir, 'api.log'),
    supervise: o.supervise,
    nodeArgs: o.nodeArgs,
    ready: (child) => apiReady(baseUrl, child),
  });
  const w = o.worker ?? {};
  const workerProc = new Supervised<W>({
    label: `${o.label} worker`,
    file: w.file ?? path.join(ROOT, 'worker', 'main.ts'),
    // info: worker/main.ts says "worker started" at that level.
    env: { LOG_LEVEL: 'info', ...env, ...w.env },
    logFile: path.join(dir, 'worker.log'),
    supervise: o.supervise,
    ipc: w.ipc,
    nodeArgs: [...(o.nodeArgs ?? []), ...(w.nodeArgs ?? [])],
    ready: w.ready ?? ((child) => child.waitForText('worker started', 180_000) as Promise<W>),
  });
  const procsCleanup = onCleanup(`stop ${o.label} api and worker`, async () => {
    await workerProc.close(10_000);
    await apiProc.close(5000);
  });
  await Promise.all([apiProc.start(), workerProc.start()]);

  const db = createDb(database.url, o.poolMax);
  const dbCleanup = onCleanup(`close ${o.label} pool`, () => db.destroy());
  return {
    label: o.label,
    dir,
    env,
    config: loadConfig(env),
    adminKey,
    baseUrl,
    taskQueue,
    dbName: database.name,
    dbUrl: database.url,
    db,
    sink,
    http: new ApiClient(baseUrl, { timeoutMs: 60_000, recorder: o.recorder }),
    apiProc,
    workerProc,
    async close() {
      await procsCleanup.run();
      await dbCleanup.run().catch(() => undefined);
      await sinkCleanup.run();
      await database.drop().catch((err: unknown) => {
        if (!o.database.ignoreDropErrors) throw err;
      });
    },
  };
}
