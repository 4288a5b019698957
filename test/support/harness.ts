// One engine per test file, on real parts: a fresh Postgres database cloned from the migrated
// template, a real SMTP sink, a worker on its own task queue, and the API listening on a real
// port. Temporal is the shared dev server, or a time-skipping test server when asked.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import type { Client } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../infra/config';
import type { Db } from '../../infra/db';
import { MailSink, type SinkMessage } from '../../dev/mail-sink';
import { startEngine } from '../../boot/engine';
import { installWorkerRuntime, quietWorkerLogger } from '../../boot/worker';
import { dataConverterFor } from '../../infra/codec';
import { createLogger } from '../../infra/logger';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface Harness {
  db: Db;
  config: Config;
  client: Client;
  sink: MailSink;
  /** Fault injection at the sink's DATA: set `plan` to refuse messages (e.g. 451 or 550), unset it to stop. */
  smtpFaults: { plan?: (attempt: number, rcpt: string[]) => null | { code: number; message: string } };
  baseUrl: string;
  adminKey: string;
  taskQueue: string;
  testEnv: TestWorkflowEnvironment | null;
  app: FastifyInstance;
  /** What a separate worker process needs to join this engine. */
  workerEnv: Record<string, string>;
  api<T = any>(method: string, path: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with \`npm test\`, which provides the servers`);
  return v;
}

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = required('TEST_DATABASE_URL');
  const template = required('TEST_DB_TEMPLATE');
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name} template ${template}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function startHarness(
  opts: { timeSkipping?: boolean; env?: Record<string, string>; inProcessWorker?: boolean; /** Collect every API and worker log line here. */ logLines?: string[] } = {},
): Promise<Harness> {
  const lines = opts.logLines;
  // Worker lifecycle chatter drowns the test report; warnings and errors still show.
  await installWorkerRuntime({ logger: lines ? new DefaultLogger('DEBUG', (e) => lines.push(`${e.level} ${e.message} ${JSON.stringify(e.meta ?? {})}`)) : quietWorkerLogger() });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-h-'));
  const adminKey = `rk_${crypto.randomBytes(32).toString('base64url')}`;
  const database = await createDatabase();
  const smtpFaults: Harness['smtpFaults'] = {};
  const sink = await MailSink.start({ failPlan: (attempt, rcpt) => smtpFaults.plan?.(attempt, rcpt) ?? null });
  const taskQueue = `test-${crypto.randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    TOKEN_HMAC_KEYS: `t1:${crypto.randomBytes(32).toString('base64')}`,
    KNOWLEDGE_HMAC_KEY: crypto.randomBytes(32).toString('base64'),
    PUBLIC_BASE_URL: 'http://recovery.test',
    PAYLOAD_CODEC_KEYS: `p1:${crypto.randomBytes(32).toString('base64')}`,
    POLICY_MODE: 'dev',
    LOG_LEVEL: 'silent',
    BOOTSTRAP_ADMIN_KEY: adminKey,
    DATABASE_URL: database.url,
    DATABASE_POOL_MAX: '5',
    SMTP_URL: sink.url,
    TEMPORAL_ADDRESS: opts.timeSkipping ? '' : required('TEMPORAL_TEST_ADDRESS'),
    TEMPORAL_TASK_QUEUE: taskQueue,
    HOST: '127.0.0.1',
    PORT: '0',
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
  // The time-skipping server has no custom search attributes.
  const logger = opts.logLines ? createLogger('trace', 'api', { write: (line: string) => void opts.logLines!.push(line) }) : false;
  const engine = await startEngine({
    config,
    logger,
    migrate: false,
    worker: opts.inProcessWorker !== false,
    temporal: testEnv ? { client: testEnv.client, connection: testEnv.nativeConnection, searchAttributes: false } : undefined,
  });
  const { db, client } = engine;
  const app = engine.api.app;
  const baseUrl = `http://127.0.0.1:${engine.api.port}`;

  return {
    db,
    config,
    client,
    sink,
    smtpFaults,
    baseUrl,
    adminKey,
    taskQueue,
    testEnv,
    app,
    workerEnv: { ...env, LOG_LEVEL: 'info', DATABASE_POOL_MAX: '3' },
    async api(method, p, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const key = o.key === undefined ? adminKey : o.key;
      if (key) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(baseUrl + p, { method, headers, body });
      const text = await res.text();
      let parsed: any = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async close() {
      await engine.stop();
      if (testEnv) await testEnv.teardown();
      await sink.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Pulls the link token out of an emailed recovery link. */
export function tokenFrom(mail: SinkMessage): string {
  const m = /#([A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{43})/.exec(mail.text);
  if (!m) throw new Error(`no link in mail "${mail.subject}"`);
  return m[1];
}

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const uniq = (prefix: string) => `${prefix}-${crypto.randomBytes(3).toString('hex')}`;

/**
 * Makes Postgres refuse one kind of audit event, as if it had stopped just before that append.
 * Returns the undo. For tests that a change commits with its audit event or not at all.
 */
export async function refuseAuditEvents(h: Harness, match: { action: string; recoveryId?: string; tenantId?: string }): Promise<() => Promise<void>> {
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const conditions = [`new.action = ${lit(match.action)}`];
  if (match.recoveryId) conditions.push(`new.recovery_id = ${lit(match.recoveryId)}`);
  if (match.tenantId) conditions.push(`new.tenant_id = ${lit(match.tenantId)}`);
  const fn = `refuse_audit_${crypto.randomBytes(4).toString('hex')}`;
  await h.db.executeQuery(
    sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
      begin
        if ${conditions.join(' and ')} then raise exception 'audit append refused (test)'; end if;
        return new;
      end $$`).compile(h.db),
  );
  await h.db.executeQuery(sql.raw(`create trigger ${fn} before insert on audit_events for each row execute function ${fn}()`).compile(h.db));
  return async () => {
    await h.db.executeQuery(sql.raw(`drop trigger ${fn} on audit_events; drop function ${fn}()`).compile(h.db));
  };
}
