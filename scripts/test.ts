// `npm test`: provisions what the suite needs (Temporal CLI, Java time-skipping server,
// Postgres), starts one Temporal dev server and a migrated template database, then runs every
// test file with Node's test runner. Integration tests talk to these real servers.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '../infra/db';
import { startDevServer } from '../dev/temporal-dev-server';
import { PROJECT_ROOT, provision, temporalCliPath } from '../dev/provision';
import { freePort } from '../boot/ports';
import { migrateToLatest } from '../migrations';

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? findTests(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

async function main() {
  const only = process.argv.slice(2);
  const files = only.length ? only.map((f) => path.resolve(f)) : findTests(path.join(PROJECT_ROOT, 'test'));

  const cli = temporalCliPath();
  const testServer = process.env.TEMPORAL_TEST_SERVER_PATH ?? provision('test-server.sh');
  const adminUrl = process.env.TEST_DATABASE_URL ?? provision('postgres.sh');
  const schemathesis = process.env.SCHEMATHESIS_PATH ?? provision('schemathesis.sh');

  // A template database, migrated once; each test file clones it (CREATE DATABASE ... TEMPLATE).
  const template = `recovery_tpl_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${template}`);
  const tplUrl = new URL(adminUrl);
  tplUrl.pathname = `/${template}`;
  const db = createDb(tplUrl.toString(), 1);
  await migrateToLatest(db);
  await db.destroy();

  const logDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'recovery-test-'));
  const dev = await startDevServer({ bin: cli, port: await freePort(), logFile: path.join(logDir, 'temporal.log') });

  const env = {
    ...process.env,
    NODE_ENV: 'test',
    TEST_DATABASE_URL: adminUrl,
    TEST_DB_TEMPLATE: template,
    TEMPORAL_TEST_ADDRESS: dev.address,
    TEMPORAL_CLI_PATH: cli,
    TEMPORAL_TEST_SERVER_PATH: testServer,
    SCHEMATHESIS_PATH: schemathesis,
  };
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env, cwd: PROJECT_ROOT });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });

  await dev.stop();
  await admin.query(`drop database if exists ${template}`).catch(() => undefined);
  await admin.end();
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
