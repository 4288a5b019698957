// The API half of the wiring: the database made ready (migrations as the schema's owner, the
// runtime role checked, the first admin), the Temporal client with its search attributes, and the
// Fastify app listening on its configured port, exporting the audit heads on a schedule. At start
// it re-seals directory secrets left under an older token key, then checks directories periodically.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app';
import { ensureBootstrapAdmin } from '../store/principals';
import type { Mailer } from '../infra/mailer';
import { ConfigError, type Config } from '../infra/config';
import { auditLogRewritableBy } from '../store/audit';
import { createDb, type Db } from '../store/db';
import { connectClient, ensureSearchAttributes } from '../infra/temporal';
import { migrateToLatest } from '../migrations';
import { DirectoryHealthBoard } from '../api/directory-status';
import { resealDirectorySecrets } from '../api/directory-secrets';
import { startAuditHeadExport } from './audit-export';
import { startDirectoryChecks } from './directory-checks';
import { asPortError } from './ports';

type DatabaseConfig = Pick<Config, 'production' | 'databaseUrl' | 'migrationDatabaseUrl'>;

/**
 * Applies pending migrations as the schema's owner: over MIGRATION_DATABASE_URL on a connection of
 * their own, or over `db` itself when that is the same role (development's default, and the
 * embedded database, which has one). In production without MIGRATION_DATABASE_URL the API does
 * not migrate: `npm run migrate` does, with the owner's credentials the API never holds.
 */
async function migrateAsOwner(db: Db, config: DatabaseConfig): Promise<string[]> {
  const url = config.migrationDatabaseUrl;
  if (!url) return config.production ? [] : migrateToLatest(db);
  if (url === config.databaseUrl) return migrateToLatest(db);
  const owner = createDb(url, 1);
  try {
    return await migrateToLatest(owner);
  } finally {
    await owner.destroy();
  }
}

/**
 * In production the engine's role must not be able to rewrite the audit log (migrations/0008);
 * elsewhere the answer is returned, for npm start to say which mode it runs in.
 */
export async function checkRuntimeRole(db: Db, config: Pick<Config, 'production'>): Promise<string[]> {
  const problems = await auditLogRewritableBy(db);
  if (config.production && problems.length)
    throw new ConfigError(`DATABASE_URL: connect as the runtime role (recovery_runtime), not the schema's owner: ${problems.join('; ')}`);
  return problems;
}

/** Migrates, checks the runtime role and makes sure an admin principal exists (its key is returned once when generated). */
export async function prepareDatabase(db: Db, config: DatabaseConfig & Pick<Config, 'bootstrapAdminKey'>, o: { migrate?: boolean } = {}) {
  const applied = o.migrate === false ? [] : await migrateAsOwner(db, config);
  const auditLogRewritable = await checkRuntimeRole(db, config);
  const admin = await ensureBootstrapAdmin(db, config.bootstrapAdminKey);
  return { applied, admin, auditLogRewritable };
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
  await resealAtStart(o);
  const directoryHealth = new DirectoryHealthBoard();
  const app = await buildApp({
    directoryHealth,
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
  const heads = startAuditHeadExport({ db: o.db, config: o.config, log: o.logger });
  const checks = startDirectoryChecks({
    db: o.db,
    config: o.config,
    board: directoryHealth,
    log: o.logger,
    intervalSeconds: o.config.directoryHealthCheckSeconds,
  });
  let closing: Promise<void> | null = null;
  return {
    app,
    port: (app.server.address() as { port: number }).port,
    stop: () => (closing ??= app.close().then(() => Promise.all([heads.stop(), checks.stop()]).then(() => undefined))),
  };
}

/**
 * After TOKEN_HMAC_KEYS gained a new first key, moves every directory secret onto it, so the old
 * key can leave the list. A failure is logged, not fatal: the secrets still open with the old key.
 */
async function resealAtStart(o: { db: Db; config: Config; logger: Logger | false }) {
  try {
    const r = await resealDirectorySecrets({ db: o.db, config: o.config, log: o.logger }, 'system');
    if (o.logger && r.resealed.length)
      o.logger.info({ resealed: r.resealed.length, sealedWith: r.sealedWith }, 'directory secrets re-sealed under the current token key');
  } catch (err) {
    if (o.logger) o.logger.warn({ err: (err as Error).message }, 're-sealing directory secrets failed; they still open with their old key');
  }
}
