// `npm run migrate`: applies the pending migrations as the schema's owner (MIGRATION_DATABASE_URL,
// else DATABASE_URL) and says which ran. The API also migrates at start when it has the owner's
// URL; this is for deployments that keep the owner's credentials away from the API and worker
// (docker-compose's `migrate` service), so it needs nothing but that URL.
import { ConfigError } from '../infra/config';
import { createDb } from '../store/db';
import { migrateToLatest } from '../migrations';

async function main() {
  const url = process.env.MIGRATION_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) throw new ConfigError('MIGRATION_DATABASE_URL (or DATABASE_URL) is required: it names the database to migrate and its owner');
  if (!URL.canParse(url)) throw new ConfigError('MIGRATION_DATABASE_URL: not a URL');
  const db = createDb(url, 1);
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
