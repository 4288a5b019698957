// Stands up the real engine for a benchmark, as production runs it: testkit's process engine (the
// API, api/server.ts, and the worker as separate processes, a database cloned from the run's
// migrated template on the local Postgres, a real SMTP sink in this process) with
// bench/worker-child.ts as the worker, and a Temporal dev server of its own (state in a WAL
// SQLite file under a temp dir) or a given Temporal address.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../boot/ports';
import type { DevServer } from '../../dev/temporal-dev-server';
import { adminUrlFromEnv, createTemplate, dropDatabase } from '../../testkit/db';
import { startProcessEngine, type ProcessEngine } from '../../testkit/processes';
import { onCleanup, ROOT, type Child } from '../../testkit/procs';
import { startRunDevServer } from '../../testkit/temporal';
import { rssOf } from './cpu';

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
    const adminUrl = adminUrlFromEnv();
    const template = await createTemplate(adminUrl, 'bench_tpl');
    onCleanup(`drop ${template}`, () => dropDatabase(adminUrl, template));
    return { adminUrl, template, workDir };
  })();
  return shared;
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

/** The worker process now running, as a benchmark observes it. */
export interface BenchWorker {
  pid: number;
  metricsUrl: string;
  ready: WorkerReady;
  /** Asks the worker for getStatus() and memory (after a full GC when gc is set); bounded. */
  status(o?: { gc?: boolean }): Promise<WorkerStatusReply>;
  rss(): { rss: number; hwm: number };
}

export interface BenchEngine extends ProcessEngine<WorkerReady> {
  temporalAddress: string;
  dev: DevServer | null;
  apiPid: number;
  worker: BenchWorker;
  /** Stops the worker gracefully and starts a new one; returns ms from stop request to the new worker polling. */
  restartWorker(): Promise<{ stopMs: number; startMs: number }>;
}

export interface BenchEngineOptions {
  label: string;
  /** Use this Temporal server (namespace default) instead of starting a dev server. */
  temporalAddress?: string;
  /** Extra environment for the API and worker (e.g. DATABASE_POOL_MAX). */
  env?: Record<string, string>;
}

/** BENCH_NODE_ARGS: extra flags for every child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
export const benchNodeArgs = () => (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export async function startBenchEngine(o: BenchEngineOptions): Promise<BenchEngine> {
  const s = await getShared();
  let dev: DevServer | null = null;
  let temporalAddress = o.temporalAddress;
  if (!temporalAddress) {
    // A dev server of our own: its state is a WAL SQLite file. BENCH_SQLITE_PRAGMAS adds more
    // pragmas (e.g. "synchronous=NORMAL"; the default is FULL).
    const devDir = fs.mkdtempSync(path.join(s.workDir, `${o.label}-temporal-`));
    const pragmas = [
      'journal_mode=WAL',
      ...(process.env.BENCH_SQLITE_PRAGMAS ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ];
    dev = await startRunDevServer({ dbFile: path.join(devDir, 'temporal.db'), logFile: path.join(devDir, 'temporal.log'), sqlitePragmas: pragmas });
    temporalAddress = dev.address;
  }
  const metricsPort = await freePort();
  const e = await startProcessEngine<WorkerReady>({
    label: o.label,
    parentDir: s.workDir,
    database: { adminUrl: s.adminUrl, template: s.template, prefix: 'bench' },
    temporalAddress,
    taskQueuePrefix: 'bench',
    env: { LOG_LEVEL: 'warn', ...o.env },
    supervise: false,
    nodeArgs: benchNodeArgs(),
    worker: {
      file: path.join(ROOT, 'bench', 'worker-child.ts'),
      env: { BENCH_METRICS_PORT: String(metricsPort) },
      ipc: true,
      nodeArgs: ['--expose-gc'],
      ready: (child) =>
        child.waitForLine((line) => (line.startsWith('{"benchWorkerReady"') ? (JSON.parse(line).benchWorkerReady as WorkerReady) : undefined), 120_000),
    },
    poolMax: 6,
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const first = e.workerProc.lastStart()!;
  let worker = benchWorker(o.label, e.workerProc.current()!, { ...first.ready, startMs: first.readyMs }, metricsUrl);
  return {
    ...e,
    temporalAddress,
    dev,
    apiPid: e.apiProc.current()!.pid,
    get worker() {
      return worker;
    },
    async restartWorker() {
      const t0 = Date.now();
      await e.workerProc.stop(30_000);
      const stopMs = Date.now() - t0;
      const { ready } = await e.workerProc.start();
      ready.startMs = Date.now() - t0 - stopMs;
      worker = benchWorker(o.label, e.workerProc.current()!, ready, metricsUrl);
      return { stopMs, startMs: ready.startMs };
    },
    async close() {
      await e.close();
      if (dev) await dev.stop();
    },
  };
}

let statusSeq = 0;

function benchWorker(label: string, child: Child, ready: WorkerReady, metricsUrl: string): BenchWorker {
  return {
    pid: child.pid,
    metricsUrl,
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
