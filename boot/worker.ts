// The worker half of the wiring: the workflow bundle, the activities with their dependencies, the
// task queue, and a worker that starts running and stops cleanly whatever state it is in.
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type Logger, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../infra/config';
import type { Db } from '../store/db';
import { dataConverterFor } from '../infra/codec';
import type { Mailer } from '../infra/mailer';
import { connectionOptions } from '../infra/temporal';
import { ensurePortsFree, splitHostPort } from './ports';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * A workflow bundle built ahead of time, by path: `npm test` builds one for its whole run (every
 * test file's worker would otherwise bundle the same code again), and a production image may.
 * Unset, each process bundles the workflows itself.
 */
export const PREBUILT_BUNDLE_VARIABLE = 'RECOVERY_WORKFLOW_BUNDLE';

/** Bundles the workflows (webpack: seconds of CPU). */
export async function buildWorkflowBundle(): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  return { code };
}

/** Bundles the workflows into `file` (its folder made if need be), for RECOVERY_WORKFLOW_BUNDLE to name. */
export async function writeWorkflowBundle(file: string): Promise<void> {
  const { code } = await buildWorkflowBundle();
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.promises.writeFile(file, code);
}

/** The prebuilt bundle `env` names, or a new one; a named file that cannot be read is an error naming the variable. */
export async function loadWorkflowBundle(env: NodeJS.ProcessEnv = process.env): Promise<WorkflowBundle> {
  const prebuilt = env[PREBUILT_BUNDLE_VARIABLE];
  if (!prebuilt) return buildWorkflowBundle();
  try {
    return { code: await fs.promises.readFile(prebuilt, 'utf8') };
  } catch (err) {
    throw new Error(`${PREBUILT_BUNDLE_VARIABLE}: cannot read the prebuilt workflow bundle ${prebuilt}: ${(err as Error).message}`);
  }
}

let bundle: Promise<WorkflowBundle> | null = null;
/** One bundle serves every worker of the process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= loadWorkflowBundle();
  return bundle;
}

type WorkerConfig = Pick<Config, 'payloadKeys' | 'tokenKeys' | 'publicBaseUrl' | 'knowledgeKey' | 'production' | 'securityWebhook'>;

export async function createRecoveryWorker(o: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: { db: Db; mailer: Mailer; config: WorkerConfig };
}): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    // A message that cannot be decoded must not fail workflow tasks for ever: it arrives as a stand-in.
    dataConverter: dataConverterFor(o.deps.config.payloadKeys, 'stand-in'),
    workflowBundle: await workflowBundle(),
    activities: createActivities(o.deps),
  });
}

let runtimeInstalled = false;

/**
 * The SDK runtime of this process, installed once before the first connection: its logger, and
 * the SDK's Prometheus metrics on `metrics.address` (checked free first, so a taken port is one
 * line naming `metrics.variable`). Returns false when it was installed already.
 */
export async function installWorkerRuntime(o: { logger?: Logger; metrics?: { address: string; variable: string } } = {}): Promise<boolean> {
  if (runtimeInstalled) return false;
  if (o.metrics) await ensurePortsFree([{ ...splitHostPort(o.metrics.address), variable: o.metrics.variable, what: 'the worker SDK metrics' }]);
  Runtime.install({
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: o.metrics.address } } } } : {}),
  });
  runtimeInstalled = true;
  return true;
}

/** Worker lifecycle chatter at INFO drowns test and benchmark output; warnings and errors still show. */
export const quietWorkerLogger = (): Logger => new DefaultLogger('WARN');

export interface RunningWorker {
  worker: Worker;
  /** Settles when the worker has stopped; rejects on a fatal worker error. */
  running: Promise<void>;
  /** Shuts down (unless it is already shutting down), waits for the drain, closes what it opened. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Creates the recovery worker and starts it. Without `connection`, it connects to
 * `config.temporal` itself and closes that connection when it stops.
 */
export async function startWorker(o: {
  config: Pick<Config, 'temporal'> & WorkerConfig;
  db: Db;
  mailer: Mailer;
  connection?: NativeConnection;
  taskQueue?: string;
}): Promise<RunningWorker> {
  const owned = o.connection ? null : await NativeConnection.connect(connectionOptions(o.config.temporal));
  const connection = o.connection ?? owned!;
  let worker: Worker;
  try {
    worker = await createRecoveryWorker({
      connection,
      namespace: o.config.temporal.namespace,
      taskQueue: o.taskQueue ?? o.config.temporal.taskQueue,
      deps: { db: o.db, mailer: o.mailer, config: o.config },
    });
  } catch (err) {
    await owned?.close();
    throw err;
  }
  const running = worker.run();
  // A fatal error surfaces through `running` to whoever awaits it; stop() must not turn it into an unhandled rejection.
  running.catch(() => undefined);
  let stopping: Promise<void> | null = null;
  return {
    worker,
    running,
    stop() {
      stopping ??= (async () => {
        // The SDK shuts workers down on SIGINT/SIGTERM by itself; shutting down twice throws.
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await owned?.close();
      })();
      return stopping;
    },
  };
}
