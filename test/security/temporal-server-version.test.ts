// Issue 11 item 16: no Temporal server in the range of CVE-2025-14986 (update-with-start did not
// check that its operations name the request's namespace; servers 1.24.0-1.29.1, fixed in 1.27.4,
// 1.28.2 and 1.29.2). Tries the attack on the dev server the tests run, asks it its version, and
// reads the versions docker-compose, the provisioning scripts and the benchmarks pin.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { google, temporal } from '@temporalio/proto';

const ROOT = path.resolve(__dirname, '..', '..');
/** gRPC status codes (the standard numbers; @grpc/grpc-js is not a direct dependency). */
const GRPC = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6 } as const;
/** Another tenant's namespace on the same server, the target of the attack. */
const OTHER_NAMESPACE = 'item16-other-tenant';
/** The project's minimum server: the first 1.29 patch with the fix (README, "Temporal server"). */
const MINIMUM = '1.29.2';

type Version = [number, number, number];
function parseVersion(v: string): Version | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** True for the servers CVE-2025-14986 affects; an unreadable version counts as affected. */
function affectedByCve202514986(version: string): boolean {
  const v = parseVersion(version);
  if (!v) return true;
  if (compare(v, [1, 24, 0]) < 0 || compare(v, [1, 29, 2]) >= 0) return false;
  const fixedOnItsLine: Version | undefined = { 27: [1, 27, 4] as Version, 28: [1, 28, 2] as Version }[v[1]];
  return !(fixedOnItsLine && compare(v, fixedOnItsLine) >= 0);
}
function assertFixed(version: string, where: string): void {
  assert.ok(!affectedByCve202514986(version), `${where}: server ${version} is in the range of CVE-2025-14986`);
  const v = parseVersion(version);
  assert.ok(v && compare(v, parseVersion(MINIMUM)!) >= 0, `${where}: server ${version} is older than the minimum ${MINIMUM}`);
}

describe('the CVE-2025-14986 range', () => {
  it('holds 1.24.0 to 1.29.1 except the 1.27 and 1.28 patches that carry the fix', () => {
    for (const v of ['1.24.0', '1.26.2', '1.27.3', '1.28.1', '1.29.0', '1.29.1', 'v1.29.1', 'unknown']) assert.equal(affectedByCve202514986(v), true, v);
    for (const v of ['1.23.4', '1.27.4', '1.28.2', '1.29.2', '1.30.0', '1.31.2', '2.0.0']) assert.equal(affectedByCve202514986(v), false, v);
  });
});

describe('the Temporal dev server the tests run', () => {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address) throw new Error('TEMPORAL_TEST_ADDRESS is not set: run this file through npm test');
  const connecting = Connection.connect({ address, connectTimeout: 10_000 });
  after(async () => (await connecting).close());

  /**
   * An update-with-start on namespace `default` whose two operations name `namespace`; resolves
   * with the gRPC code it got (OK when it returned before the deadline) and every per-operation
   * message the server gave.
   */
  async function updateWithStart(workflowId: string, namespace: string): Promise<{ code: number; messages: string[] }> {
    const c = await connecting;
    const taskQueue = { name: `item16-probe-${crypto.randomUUID()}` }; // no worker polls it
    const request: temporal.api.workflowservice.v1.IExecuteMultiOperationRequest = {
      namespace: 'default',
      operations: [
        {
          startWorkflow: {
            namespace,
            workflowId,
            workflowType: { name: 'Item16Probe' },
            taskQueue,
            requestId: crypto.randomUUID(),
            identity: 'item16-attack',
            workflowIdConflictPolicy: temporal.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
          },
        },
        {
          updateWorkflow: {
            namespace,
            workflowExecution: { workflowId },
            waitPolicy: { lifecycleStage: temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED },
            request: { meta: { updateId: crypto.randomUUID(), identity: 'item16-attack' }, input: { name: 'probe' } },
          },
        },
      ],
    };
    try {
      await c.withDeadline(Date.now() + 5000, () => c.workflowService.executeMultiOperation(request));
      return { code: GRPC.OK, messages: [] };
    } catch (err) {
      if (!isGrpcServiceError(err)) throw err;
      return { code: err.code, messages: operationMessages(err.metadata.get('grpc-status-details-bin')[0]) };
    }
  }

  /** Registers a second namespace on the dev server (once per server; it stays). */
  async function registerNamespace(namespace: string): Promise<void> {
    const c = await connecting;
    try {
      await c.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: google.protobuf.Duration.fromObject({ seconds: 86_400 }) });
    } catch (err) {
      if (grpcCode(err) !== GRPC.ALREADY_EXISTS) throw err;
    }
  }

  async function started(workflowId: string): Promise<boolean> {
    const c = await connecting;
    try {
      await c.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
    } catch (err) {
      if (grpcCode(err) === GRPC.NOT_FOUND) return false;
      throw err;
    }
    await c.workflowService.terminateWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId }, reason: 'item 16 probe' });
    return true;
  }

  it('refuses an update-with-start whose operations name another namespace, and starts nothing', async () => {
    await registerNamespace(OTHER_NAMESPACE);
    const workflowId = `item16-attack-${crypto.randomUUID()}`;
    // A vulnerable server validates the operations against the namespace they name, which it
    // may not have loaded yet right after registering it: retry while it answers NOT_FOUND.
    let r = await updateWithStart(workflowId, OTHER_NAMESPACE);
    for (const until = Date.now() + 30_000; r.code === GRPC.NOT_FOUND && Date.now() < until;) {
      await new Promise((res) => setTimeout(res, 500));
      r = await updateWithStart(workflowId, OTHER_NAMESPACE);
    }
    assert.equal(await started(workflowId), false, `the workflow must not have been started (answer: gRPC code ${r.code})`);
    assert.equal(r.code, GRPC.INVALID_ARGUMENT, `answer: gRPC code ${r.code} ${r.messages.join('; ')}`);
    assert.ok(
      r.messages.some((m) => /namespace/i.test(m)),
      `refused for its namespace: ${r.messages.join('; ')}`,
    );
  });

  it('accepts the same update-with-start naming its own namespace (so the refusal above is about the namespace)', async () => {
    const workflowId = `item16-control-${crypto.randomUUID()}`;
    const r = await updateWithStart(workflowId, 'default');
    // No worker accepts the update, so the call waits until the deadline: anything but a refusal.
    assert.notEqual(r.code, GRPC.INVALID_ARGUMENT, r.messages.join('; '));
    assert.equal(await started(workflowId), true);
  });

  it(`reports a server version outside the range, at least ${MINIMUM}`, async () => {
    const info = await (await connecting).workflowService.getSystemInfo({});
    assertFixed(info.serverVersion ?? '', `the dev server at ${address}`);
  });
});

/** The gRPC status code of a failed call, or null for any other error. */
function grpcCode(err: unknown): number | null {
  return isGrpcServiceError(err) ? Number(err.code) : null;
}

/** The messages of a MultiOperationExecutionFailure's per-operation statuses (empty when absent). */
function operationMessages(details: string | Buffer | undefined): string[] {
  if (!details || typeof details === 'string') return [];
  const failure = google.rpc.Status.decode(details).details?.find((d) => d.type_url?.endsWith('.MultiOperationExecutionFailure'));
  if (!failure?.value) return [];
  const { statuses } = temporal.api.errordetails.v1.MultiOperationExecutionFailure.decode(failure.value);
  return statuses.map((s) => s.message ?? '');
}

describe('the servers the project pins', () => {
  const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
  const pinned = (file: string, pattern: RegExp): string => {
    const m = pattern.exec(read(file));
    assert.ok(m, `${file}: no server version found with ${pattern}`);
    return m[1];
  };

  it('docker-compose runs fixed Temporal server images only', () => {
    const images = [...read('docker-compose.yml').matchAll(/image:\s*temporalio\/(auto-setup|server):(\S+)/g)];
    assert.ok(images.length > 0, 'docker-compose.yml names a temporalio server image');
    for (const [, name, tag] of images) assertFixed(tag, `docker-compose.yml temporalio/${name}`);
  });

  it('the dev server build, the benchmark server and its default in bench/ are fixed', () => {
    assertFixed(pinned('scripts/provision/temporal-cli.sh', /TEMPORAL_DEV_SERVER_VERSION:-([\w.]+)\}/), 'scripts/provision/temporal-cli.sh');
    assertFixed(pinned('scripts/provision/temporal-server.sh', /TEMPORAL_SERVER_VERSION:-([\w.]+)\}/), 'scripts/provision/temporal-server.sh');
    assertFixed(pinned('bench/lib/temporal-server.ts', /TEMPORAL_SERVER_VERSION \?\? '([\w.]+)'/), 'bench/lib/temporal-server.ts');
  });
});
