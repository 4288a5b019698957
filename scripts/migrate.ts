// `npm run migrate`: applies the pending migrations to DATABASE_URL and says which ran. The API
// also migrates at start; this is for deployments that migrate as a separate step.
import { ConfigError, loadConfig } from '../infra/config';
import { createDb } from '../store/db';
import { migrateToLatest } from '../migrations';

async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required: it names the database to migrate');
  const db = createDb(config.databaseUrl, 1);
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length ? `migrations applied: ${applied.join(', ')}\n` : 'the database is up to date\n');
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `config error: ${err.message}` : err);
  process.exit(1);
});
