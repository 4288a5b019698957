// One engine per test file, in this process, on real parts and the one wiring (boot/engine.ts): a
// fresh Postgres database cloned from the run's migrated template, a real SMTP sink, a worker on
// its own task queue, and the API listening on a real port. Temporal is the run's dev server, or
// a time-skipping test server when asked.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { startEngine } from '../boot/engine';
import { installWorkerRuntime, quietWorkerLogger } from '../boot/worker';
import { MailSink, type MailSinkOptions } from '../dev/mail-sink';
import { dataConverterFor } from '../infra/codec';
import { loadConfig, type Config } from '../infra/config';
import type { Mailer } from '../infra/mailer';
import { createDb, type Db } from '../store/db';
import { createLogger } from '../infra/logger';
import { cloneDatabase } from './db';
import { newAdminKey, testEngineEnv } from './env';
import { ApiClient, type ApiResponse, type CallOptions, type Json } from './http';

export type { ApiResponse };

export interface Harness {
  /** The engine's own connection (the runtime role). */
  db: Db;
  /** A connection as the role that owns the schema (runs the migrations): what tests tamper with. */
  ownerDb: Db;
  config: Config;
  client: Client;
  sink: MailSink;
  /** The engine's mailer (the API's own mails go through it too). */
  mailer: Mailer;
  /** Fault injection at the sink's DATA: set `plan` to refuse messages (e.g. 451 or 550), unset it to stop. */
  smtpFaults: { plan?: MailSinkOptions['failPlan'] };
  baseUrl: string;
  adminKey: string;
  taskQueue: string;
  testEnv: TestWorkflowEnvironment | null;
  app: FastifyInstance;
  /** What a separate worker process needs to join this engine. */
  workerEnv: Record<string, string>;
  /** The API client; calls that name no key use the admin key. */
  http: ApiClient;
  api<T = Json>(method: string, path: string, opts?: CallOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with \`npm test\`, which provides the servers`);
  return v;
}

export async function startHarness(
  opts: {
    timeSkipping?: boolean;
    env?: Record<string, string>;
    inProcessWorker?: boolean;
    /** Collect every API and worker log line here. */ logLines?: string[];
  } = {},
): Promise<Harness> {
  const lines = opts.logLines;
  await installWorkerRuntime({
    logger: lines ? new DefaultLogger('DEBUG', (e) => lines.push(`${e.level} ${e.message} ${JSON.stringify(e.meta ?? {})}`)) : quietWorkerLogger(),
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-h-'));
  const adminKey = newAdminKey();
  const database = await cloneDatabase(required('TEST_DATABASE_URL'), required('TEST_DB_TEMPLATE'), 't');
  const smtpFaults: Harness['smtpFaults'] = {};
  const sink = await MailSink.start({ failPlan: (attempt, rcpt) => smtpFaults.plan?.(attempt, rcpt) ?? null });
  const taskQueue = `test-${crypto.randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    ...testEngineEnv({ dataDir, adminKey }),
    LOG_LEVEL: 'silent',
    PORT: '0',
    DATABASE_URL: database.runtimeUrl,
    MIGRATION_DATABASE_URL: database.url,
    DATABASE_POOL_MAX: '5',
    SMTP_URL: sink.url,
    TEMPORAL_ADDRESS: opts.timeSkipping ? '' : required('TEMPORAL_TEST_ADDRESS'),
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...opts.env,
  };
  const config = loadConfig(env);

  let testEnv: TestWorkflowEnvironment | null = null;
  if (opts.timeSkipping) {
    testEnv = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: required('TEMPORAL_TEST_SERVER_PATH') } },
      client: { dataConverter: dataConverterFor(config.payloadKeys) },
    });
  }
  const logger = lines ? createLogger('trace', 'api', { write: (line: string) => void lines.push(line) }) : false;
  const engine = await startEngine({
    config,
    logger,
    migrate: false,
    worker: opts.inProcessWorker !== false,
    // The time-skipping server has no custom search attributes.
    temporal: testEnv ? { client: testEnv.client, connection: testEnv.nativeConnection, searchAttributes: false } : undefined,
  });
  const ownerDb = createDb(database.url, 2);
  const baseUrl = `http://127.0.0.1:${engine.api.port}`;
  const http = new ApiClient(baseUrl, { key: adminKey });

  return {
    db: engine.db,
    ownerDb,
    config,
    client: engine.client,
    sink,
    mailer: engine.mailer,
    smtpFaults,
    baseUrl,
    adminKey,
    taskQueue,
    testEnv,
    app: engine.api.app,
    workerEnv: { ...env, LOG_LEVEL: 'info', DATABASE_POOL_MAX: '3' },
    http,
    api: (method, p, o) => http.call(method, p, o),
    async close() {
      await engine.stop();
      await ownerDb.destroy();
      if (testEnv) await testEnv.teardown();
      await sink.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
