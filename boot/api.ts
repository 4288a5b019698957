// The API half of the wiring: the database made ready (migrations, the first admin), the Temporal
// client with its search attributes, and the Fastify app listening on its configured port.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app';
import { ensureBootstrapAdmin } from '../store/principals';
import type { Config } from '../infra/config';
import type { Mailer } from '../infra/mailer';
import type { Db } from '../store/db';
import { connectClient, ensureSearchAttributes } from '../infra/temporal';
import { migrateToLatest } from '../migrations';
import { asPortError } from './ports';

/** Applies pending migrations and makes sure an admin principal exists (its key is returned once when generated). */
export async function prepareDatabase(db: Db, config: Pick<Config, 'bootstrapAdminKey'>, o: { migrate?: boolean } = {}) {
  const applied = o.migrate === false ? [] : await migrateToLatest(db);
  const admin = await ensureBootstrapAdmin(db, config.bootstrapAdminKey);
  return { applied, admin };
}

/** The Temporal client, and whether the custom search attributes are registered (false: workflows run without them). */
export async function connectTemporal(config: Pick<Config, 'temporal' | 'payloadKeys'>): Promise<{ client: Client; searchAttributes: boolean }> {
  const client = await connectClient(config.temporal, config.payloadKeys);
  return { client, searchAttributes: await ensureSearchAttributes(client, config.temporal.namespace) };
}

export interface RunningApi {
  app: FastifyInstance;
  /** The port it listens on (the configured one, or the one the OS chose for port 0). */
  port: number;
  /** Stops accepting requests and waits for those in flight. Idempotent. */
  stop(): Promise<void>;
}

/** Builds the app and listens on config.host:config.port; a taken port is a PortInUseError naming PORT. */
export async function startApi(o: {
  config: Config;
  db: Db;
  client: Client;
  searchAttributes: boolean;
  logger: Logger | false;
  mailer: Mailer;
  taskQueue?: string;
  outboxDir?: string;
}): Promise<RunningApi> {
  const app = await buildApp({
    db: o.db,
    temporal: o.client,
    config: o.config,
    taskQueue: o.taskQueue ?? o.config.temporal.taskQueue,
    searchAttributes: o.searchAttributes,
    logger: o.logger,
    mailer: o.mailer,
    outboxDir: o.outboxDir,
  });
  try {
    await app.listen({ host: o.config.host, port: o.config.port });
  } catch (err) {
    await app.close();
    throw asPortError(err, { host: o.config.host, port: o.config.port, variable: 'PORT', what: 'the API' });
  }
  let closing: Promise<void> | null = null;
  return {
    app,
    port: (app.server.address() as { port: number }).port,
    stop: () => (closing ??= app.close().then(() => undefined)),
  };
}
