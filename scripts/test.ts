// `npm test`: provisions what the suite needs (Temporal CLI, Java time-skipping server,
// Postgres), starts one Temporal dev server and a migrated template database (and one Keycloak
// when a non-unit test file's name says keycloak), then runs every test file with Node's test
// runner. Integration tests talk to these real servers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../boot/ports';
import { PREBUILT_BUNDLE_VARIABLE, writeWorkflowBundle } from '../boot/worker';
import { PROJECT_ROOT, provision, temporalCliPath } from '../dev/provision';
import { startDevServer } from '../dev/temporal-dev-server';
import { adminUrlFromEnv, createTemplate, dropDatabase } from '../testkit/db';
import { startKeycloak, type RunningKeycloak } from '../testkit/keycloak';

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? findTests(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

/** `tests: N passed, N failed, N skipped` from the runner's TAP totals (cancelled counts as failed). */
function summaryLine(tapFile: string): string {
  const tap = fs.existsSync(tapFile) ? fs.readFileSync(tapFile, 'utf8') : '';
  const total = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  return `tests: ${total('pass')} passed, ${total('fail') + total('cancelled')} failed, ${total('skipped') + total('todo')} skipped`;
}

/** TEST_CONCURRENCY: how many test files run at once (default 1, as CI runs them); anything but a whole number from 1 is refused by name. */
function testConcurrency(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  if (!/^[1-9]\d{0,2}$/.test(value))
    throw new Error(`TEST_CONCURRENCY: expected a whole number from 1 to 999 (files run at once), got ${JSON.stringify(value)}`);
  return Number(value);
}

async function main() {
  const concurrency = testConcurrency(process.env.TEST_CONCURRENCY);
  const only = process.argv.slice(2);
  const files = only.length ? only.map((f) => path.resolve(f)) : findTests(path.join(PROJECT_ROOT, 'test'));

  const cli = temporalCliPath();
  const testServer = process.env.TEMPORAL_TEST_SERVER_PATH ?? provision('test-server.sh');
  const adminUrl = adminUrlFromEnv();
  const schemathesis = process.env.SCHEMATHESIS_PATH ?? provision('schemathesis.sh');
  // Debian's Chromium for the browser test (playwright-core drives it; it never downloads one).
  const chromium = process.env.CHROMIUM_PATH ?? provision('chromium.sh');

  const logDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'recovery-test-'));
  // Keycloak (15-60 s and 450 MB) only for runs that include a test file named *keycloak*
  // outside test/unit (unit tests need no server), so subset runs of other files do not pay for
  // it; the tests find it through KEYCLOAK_URL. It starts alongside the template database and
  // Temporal, whose start-up is mostly waiting.
  const unitDir = path.join(PROJECT_ROOT, 'test', 'unit') + path.sep;
  const keycloakStart = files.some((f) => !f.startsWith(unitDir) && path.basename(f).toLowerCase().includes('keycloak'))
    ? startKeycloak({ logDir }).then(
        (kc) => ({ kc }),
        (err: unknown) => ({ err }),
      )
    : null;

  // The workflow bundle, built once for the run (each test file's worker, and each engine process
  // a test starts, would bundle the same code again: seconds of CPU each), beside a template
  // database, migrated once; each test file clones it (CREATE DATABASE ... TEMPLATE).
  const bundlePath = path.join(logDir, 'workflow-bundle.js');
  const [template] = await Promise.all([createTemplate(adminUrl, 'recovery_tpl'), writeWorkflowBundle(bundlePath)]);
  const dev = await startDevServer({ bin: cli, port: await freePort(), logFile: path.join(logDir, 'temporal.log') });

  let keycloak: RunningKeycloak | null = null;
  const started = await keycloakStart;
  if (started && 'err' in started) {
    await dev.stop();
    await dropDatabase(adminUrl, template).catch(() => undefined);
    throw started.err;
  }
  if (started) {
    keycloak = started.kc;
    process.stdout.write(`keycloak: ready on ${keycloak.url} in ${(keycloak.startupMs / 1000).toFixed(1)} s\n`);
  }

  const env = {
    ...process.env,
    NODE_ENV: 'test',
    TEST_DATABASE_URL: adminUrl,
    TEST_DB_TEMPLATE: template,
    TEMPORAL_TEST_ADDRESS: dev.address,
    [PREBUILT_BUNDLE_VARIABLE]: bundlePath,
    TEMPORAL_CLI_PATH: cli,
    TEMPORAL_TEST_SERVER_PATH: testServer,
    SCHEMATHESIS_PATH: schemathesis,
    CHROMIUM_PATH: chromium,
    // Where tests leave artifacts (the browser test's screenshot), beside the run's logs.
    TEST_LOG_DIR: logDir,
    ...(keycloak ? { KEYCLOAK_URL: keycloak.url } : {}),
  };
  // The readable report on the terminal, and TAP in a file for the one-line summary at the end.
  const tap = path.join(logDir, 'results.tap');
  const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...reporters, ...files], {
      stdio: 'inherit',
      env,
      cwd: PROJECT_ROOT,
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  process.stdout.write(`${summaryLine(tap)}\n`);

  await keycloak?.stop();
  await dev.stop();
  await dropDatabase(adminUrl, template).catch(() => undefined);
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
