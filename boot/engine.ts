// The API and the worker in one process, as npm start and the tests run the engine: one database
// pool, one mailer, the Temporal client and the worker's own connection. Composed from a config
// whose database, SMTP and Temporal addresses are already resolved (npm start fills in its
// embedded parts first; the tests point them at their own).
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../infra/config';
import { createDb, type Db } from '../store/db';
import { createMailer, type Mailer } from '../infra/mailer';
import { connectTemporal, prepareDatabase, startApi, type RunningApi } from './api';
import { once, runStops, type Stop } from './process';
import { startWorker, type RunningWorker } from './worker';

export interface EngineOptions {
  config: Config;
  /** The API's logger (false: none). */
  logger: Logger | false;
  /** Apply migrations at start (default true; the tests' databases are clones of a migrated template). */
  migrate?: boolean;
  /** Run a worker in this process (default true). */
  worker?: boolean;
  /** Temporal connections made and closed by someone else (the time-skipping test environment). */
  temporal?: { client: Client; connection: NativeConnection; searchAttributes: boolean };
  /** Dev outbox folder the API serves at /dev/outbox. */
  outboxDir?: string;
}

export interface Engine {
  db: Db;
  mailer: Mailer;
  client: Client;
  searchAttributes: boolean;
  worker: RunningWorker | null;
  api: RunningApi;
  /** Migrations applied at this start, and the admin key when one was generated (shown once). */
  applied: string[];
  admin: { created: boolean; apiKey?: string };
  /** How this engine's database role could rewrite the audit log (empty: it cannot; see boot/api.ts). */
  auditLogRewritable: string[];
  /** API first (no new requests), then the worker's drain, then connections, mailer and pool. Idempotent. */
  stop(): Promise<void>;
}

export async function startEngine(o: EngineOptions): Promise<Engine> {
  const { config } = o;
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL is required');
  const stops: Stop[] = [];
  try {
    const db = createDb(config.databaseUrl, config.databasePoolMax, { auditKeys: config.auditKeys });
    stops.unshift(() => db.destroy());
    const { applied, admin, auditLogRewritable } = await prepareDatabase(db, config, { migrate: o.migrate });
    const mailer = createMailer(config.smtpUrl, config.mailFrom);
    stops.unshift(() => mailer.close());
    const { client, searchAttributes } = o.temporal ?? (await connectTemporal(config));
    if (!o.temporal) stops.unshift(() => client.connection.close());
    const worker = o.worker === false ? null : await startWorker({ config, db, mailer, connection: o.temporal?.connection });
    if (worker) stops.unshift(() => worker.stop());
    const api = await startApi({ config, db, client, searchAttributes, logger: o.logger, mailer, outboxDir: o.outboxDir });
    stops.unshift(() => api.stop());
    return { db, mailer, client, searchAttributes, worker, api, applied, admin, auditLogRewritable, stop: once(() => runStops(stops)) };
  } catch (err) {
    await runStops(stops).catch(() => undefined);
    throw err;
  }
}
