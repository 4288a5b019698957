// schemathesis (PyPI) fuzzes the API from its own OpenAPI document, with a bounded budget,
// against a real engine: zero 5xx, and every response matches its documented schema.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedAccount, seedIngestion, seedLogin, seedPrincipal } from '../../testkit/seed';

const ST = process.env.SCHEMATHESIS_PATH;
const MAX_EXAMPLES = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? '15';
const MAX_TIME = process.env.SCHEMATHESIS_MAX_TIME ?? '120';

let h: Harness;
/** Every API and worker log line, so a failure shows what the engine saw (warnings and errors). */
const logLines: string[] = [];
/** The login-event route answers only an ingestion key (a role of its own): it gets a run of its own. */
let ingestionKey: string;
before(async () => {
  h = await startHarness({ logLines });
});
after(async () => {
  await h?.close();
});

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** schemathesis's summary, then the engine's warnings and errors: what a failure needs to be understood. */
function report(out: string): string {
  const warnings = logLines.filter((l) => /^(WARN|ERROR) |"level":(40|50|60)/.test(l)).map((l) => l.slice(0, 600));
  return `${out.slice(-15000)}\n--- engine warnings and errors (${warnings.length}) ---\n${warnings.slice(-40).join('\n')}`;
}

/** One schemathesis run over the document with every conformance check, as `key`, from `seed`. */
function fuzz(key: string, seed: string, extra: string[]) {
  return run(ST!, [
    'run',
    `${h.baseUrl}/openapi.json`,
    '--checks',
    'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
    '--header',
    `Authorization: Bearer ${key}`,
    '--max-examples',
    MAX_EXAMPLES,
    '--workers',
    '1',
    '--phases',
    'examples,coverage,fuzzing',
    '--request-timeout',
    '20',
    '--seed',
    seed,
    '--suppress-health-check',
    'all',
    ...extra,
  ]);
}

describe('schemathesis against /openapi.json', () => {
  it('finds no server error and no response outside its documented schema', async () => {
    assert.ok(ST, 'SCHEMATHESIS_PATH is set by npm test (scripts/provision/schemathesis.sh)');
    // A principal holding every role but ingestion (a role of its own), so every other operation is
    // reachable; login events from it get 403. Real data to find.
    const t = await h.api('POST', '/v1/admin/tenants', {
      body: { id: 'fuzz', name: 'Fuzz Co', authMode: 'mixed', securityContacts: ['sec@fuzz.test'], breakGlassAccount: 'u-1' },
    });
    assert.equal(t.status, 201, t.text);
    await seedAccount(h, 'fuzz', { externalId: 'u-1' });
    const all = await seedPrincipal(h, ['agent', 'approver', 'break_glass_approver', 'reviewer', 'auditor', 'admin'], ['*']);
    ingestionKey = (await seedIngestion(h, ['*'])).key;
    await seedLogin(h, ingestionKey, 'fuzz', 'u-1');
    const r = await fuzz(all.key, '20261122', ['--max-time', MAX_TIME, '--exclude-path', '/metrics']);
    assert.equal(r.code, 0, report(r.out));
  });

  it('finds none on the login-event route either, called with an ingestion key', async () => {
    assert.ok(ST, 'SCHEMATHESIS_PATH is set by npm test (scripts/provision/schemathesis.sh)');
    assert.ok(ingestionKey, 'the first run seeded the ingestion key');
    const r = await fuzz(ingestionKey, '20261130', ['--include-path', '/v1/events/login']);
    assert.equal(r.code, 0, report(r.out));
    assert.match(r.out, /Selected: 1\/\d+\s+Tested: 1\b/, 'the run selected and tested the login-event route');
  });
});
