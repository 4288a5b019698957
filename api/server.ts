// API process: `npm run api` (production, docker-compose). Only listens and closes gracefully.
import { ConfigError, loadConfig } from '../infra/config';
import { createDb } from '../infra/db';
import { createLogger } from '../infra/logger';
import { connectClient, ensureSearchAttributes } from '../infra/temporal';
import { migrateToLatest } from '../migrations';
import { ensureBootstrapAdmin } from '../store/principals';
import { buildApp } from './app';

async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'api');
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for a standalone API (npm start runs an embedded database)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  await migrateToLatest(db);
  const admin = await ensureBootstrapAdmin(db, config.bootstrapAdminKey);
  if (admin.apiKey) process.stdout.write(`\nBootstrap admin API key (shown once, store it now): ${admin.apiKey}\n\n`);
  const temporal = await connectClient(config.temporal, config.payloadKeys);
  const searchAttributes = await ensureSearchAttributes(temporal, config.temporal.namespace);
  if (!searchAttributes) log.warn('custom search attributes are not registered; workflows run without them');
  const app = await buildApp({ db, temporal, config, taskQueue: config.temporal.taskQueue, searchAttributes, logger: log });
  await app.listen({ host: config.host, port: config.port });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, async () => {
      await app.close();
      await temporal.connection.close();
      await db.destroy();
      process.exit(0);
    });
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `config error: ${err.message}` : err);
  process.exit(1);
});
