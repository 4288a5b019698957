// `npm test`: provisions what the suite needs (Temporal CLI, Java time-skipping server,
// Postgres), starts one Temporal dev server and a migrated template database, then runs every
// test file with Node's test runner. Integration tests talk to these real servers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../boot/ports';
import { PROJECT_ROOT, provision, temporalCliPath } from '../dev/provision';
import { startDevServer } from '../dev/temporal-dev-server';
import { adminQuery, adminUrlFromEnv, createTemplate } from '../testkit/db';

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
  const adminUrl = adminUrlFromEnv();
  const schemathesis = process.env.SCHEMATHESIS_PATH ?? provision('schemathesis.sh');

  // A template database, migrated once; each test file clones it (CREATE DATABASE ... TEMPLATE).
  const template = await createTemplate(adminUrl, 'recovery_tpl');

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
  await adminQuery(adminUrl, `drop database if exists ${template}`).catch(() => undefined);
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
