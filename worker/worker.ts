// Wires a worker: the workflow bundle, the activities with their dependencies, the task queue.
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../infra/config';
import { dataConverterFor } from '../infra/codec';

export const WORKFLOWS_PATH = require.resolve('../workflows');

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;
/** Bundling takes seconds; one bundle serves every worker of the process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never });
  return bundle;
}

export async function createRecoveryWorker(o: { connection: NativeConnection; namespace: string; taskQueue: string; deps: ActivityDeps & { config: Pick<Config, 'payloadKeys'> } }): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    dataConverter: dataConverterFor(o.deps.config.payloadKeys),
    workflowBundle: await workflowBundle(),
    activities: createActivities(o.deps),
  });
}
