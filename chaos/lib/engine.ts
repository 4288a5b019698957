// One engine per scenario: testkit's process engine, supervised (the API and the worker are
// restarted after a death we did not cause, and every death is recorded), on the run's own
// Postgres cluster; every API call recorded for the checks, and a Temporal client for them. The
// engine's own pool in this process is for seeding checks, never used while a fault is on.
import { Client, Connection } from '@temporalio/client';
import type { MailSinkOptions } from '../../dev/mail-sink';
import { dataConverterFor } from '../../infra/codec';
import { onCleanup } from '../../testkit/procs';
import { startProcessEngine, type ProcessEngine } from '../../testkit/processes';
import type { PgCluster } from './pg-cluster';
import { StatusLog } from './status-log';

export interface DrillEngine extends ProcessEngine {
  client: Client;
  log: StatusLog;
  /** SIGKILL the worker and start a new one. */
  killWorker(): Promise<void>;
  startWorker(): Promise<{ readyMs: number }>;
}

/** What the run provides every scenario's engine: its folder, its Postgres cluster and template, its dev server. */
export interface RunSite {
  runDir: string;
  cluster: PgCluster;
  template: string;
  /** The run's shared Temporal dev server (file-backed). */
  temporalAddress: string;
}

export interface DrillEngineOptions {
  label: string;
  /** Another Temporal server than the run's (a scenario that restarts its own). */
  temporalAddress?: string;
  sink?: Omit<MailSinkOptions, 'host' | 'port'>;
  workerPoolMax?: number;
}

export async function startDrillEngine(site: RunSite, opts: DrillEngineOptions): Promise<DrillEngine> {
  const o = { ...site, ...opts, temporalAddress: opts.temporalAddress ?? site.temporalAddress };
  const log = new StatusLog();
  const e = await startProcessEngine({
    label: o.label,
    parentDir: o.runDir,
    database: { adminUrl: o.cluster.adminUrl, template: o.template, prefix: 'chaos', dropWhen: () => o.cluster.running(), ignoreDropErrors: true },
    temporalAddress: o.temporalAddress,
    taskQueuePrefix: 'chaos',
    sink: o.sink,
    supervise: true,
    worker: { env: { DATABASE_POOL_MAX: String(o.workerPoolMax ?? 5) } },
    poolMax: 3,
    recorder: log,
  });
  const connection = await Connection.connect({ address: o.temporalAddress, connectTimeout: 10_000 });
  const closeConnection = onCleanup(`close ${o.label} temporal connection`, () => connection.close());
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(e.config.payloadKeys) });
  return {
    ...e,
    client,
    log,
    killWorker: () => e.workerProc.kill(),
    startWorker: () => e.workerProc.start(),
    async close() {
      await e.close();
      await closeConnection.run().catch(() => undefined);
    },
  };
}
