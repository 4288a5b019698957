// Item 1's servers, in a process of their own so the load generator does not share their event
// loop: a bare Fastify route, and the real app (buildApp: validation, auth, idempotency hooks,
// rate-limit slot, insert, audit) with only the Temporal client stubbed. Prints one JSON line
// with both ports, then serves until SIGTERM. Env: DATABASE_URL, BOOTSTRAP_ADMIN_KEY and the
// usual config variables (see bench/api-overhead.ts).
import crypto from 'node:crypto';
import Fastify from 'fastify';
import type { Client } from '@temporalio/client';
import { buildApp } from '../api/app';
import { ensureBootstrapAdmin } from '../store/principals';
import { loadConfig } from '../infra/config';
import { createDb } from '../store/db';
import { commitFloor } from '../testkit/floors';
import type { RecoveryStatus } from '../contracts/recovery';

/** What the workflow answers to the awaitTriage update for a low-risk standard password reset. */
function triagedStatus(): RecoveryStatus {
  return {
    recoveryId: 'rec_stub',
    tenantId: 'stub',
    accountId: 'stub',
    kind: 'password_reset',
    state: 'verifying',
    waitingFor: 'identity verification',
    riskTier: 'low',
    route: null,
    reasons: [
      { code: 'tenant_local_auth', detail: 'the tenant has no IdP' },
      { code: 'standard_role', detail: 'standard user' },
    ],
    tiers: { required: { all: [3], anyOf: [1, 2] }, passed: [], failedAttempts: 0, attemptsLeft: 5 },
    approvals: { required: 0, received: [] },
    deadlines: { verifyBy: new Date(Date.now() + 3_600_000).toISOString() },
    currentDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    manualReview: false,
    outcome: null,
  };
}

/** Exactly what POST /v1/recoveries calls on the client: workflow.start, withDeadline, withAbortSignal, handle.executeUpdate. */
function stubTemporal(): Client {
  const stub = {
    workflow: {
      async start(_type: string, opts: { workflowId: string }) {
        return {
          workflowId: opts.workflowId,
          firstExecutionRunId: crypto.randomUUID(),
          async executeUpdate() {
            return triagedStatus();
          },
        };
      },
      getHandle() {
        throw new Error('not used by POST /v1/recoveries');
      },
    },
    withAbortSignal<R>(_signal: AbortSignal, fn: () => Promise<R>): Promise<R> {
      return fn();
    },
    withDeadline<R>(_deadline: number, fn: () => Promise<R>): Promise<R> {
      return fn();
    },
  };
  return stub as unknown as Client;
}

async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required');

  const bare = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  bare.post('/v1/recoveries', async (req, reply) => {
    const b = req.body as { tenantId?: string } | undefined;
    return reply.code(202).send({
      id: 'rec_bare',
      tenant: b?.tenantId ?? null,
      status: 'verifying',
      riskTier: 'low',
      manualReview: false,
      next: { action: 'submit_verification', allOf: [], oneOf: [1, 2] },
    });
  });
  await bare.listen({ host: '127.0.0.1', port: 0 });

  const db = createDb(config.databaseUrl, config.databasePoolMax, { auditKeys: config.auditKeys });
  await ensureBootstrapAdmin(db, config.bootstrapAdminKey);

  // The commit floor: a bare route that makes one durable write (one INSERT, autocommit) on the
  // same pool, the least any route that records a request before answering must do.
  const floorTable = await commitFloor(db);
  const floor = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  floor.post('/v1/recoveries', async (req, reply) => {
    await floorTable.record(req.body);
    return reply
      .code(202)
      .send({ id: 'rec_floor', status: 'verifying', riskTier: 'low', manualReview: false, next: { action: 'submit_verification', allOf: [], oneOf: [1, 2] } });
  });
  await floor.listen({ host: '127.0.0.1', port: 0 });
  // No SMTP here: the benchmark measures recovery requests, and its principals never verify a person.
  const noMail = { send: async () => undefined, close: () => undefined };
  const app = await buildApp({ db, temporal: stubTemporal(), config, taskQueue: 'stub', searchAttributes: true, logger: false, mailer: noMail });
  await app.listen({ host: '127.0.0.1', port: 0 });

  const port = (s: typeof bare) => (s.server.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ benchServers: { bare: port(bare), floor: port(floor), real: port(app as unknown as typeof bare) } }) + '\n');
  const shutdown = async () => {
    await bare.close();
    await floor.close();
    await app.close();
    await db.destroy();
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void shutdown());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
