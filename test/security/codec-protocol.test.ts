// Issue 11, item 19: the codec endpoint speaks the Temporal remote codec protocol, so the real
// Temporal CLI (`temporal workflow show --codec-endpoint ... --codec-auth ...`) and the Web UI's
// Data Encoder can read encrypted histories. The CLI posts `{}` for an empty payload list (Go's
// JSON of an empty Payloads message) and expects `{"payloads":[]}`; the Web UI posts with an
// X-Namespace header after a CORS preflight. Run against a real workflow on the run's dev server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startHarness, type Harness } from '../../testkit/engine';
import { recoveryBody, seedLocalAccount, seedPrincipal } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
let auditorKey: string;
let recoveryId: string;
let workflowId: string;
const UI_ORIGIN = 'http://localhost:8233';

before(async () => {
  h = await startHarness();
  const { tenantId, accountId, agent } = await seedLocalAccount(h);
  const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
  assert.equal(r.status, 202, r.text);
  recoveryId = r.body.id;
  workflowId = `recovery:${tenantId}:${accountId}:password_reset`;
  await until('the workflow ran its first task', async () => (await h.client.workflow.getHandle(workflowId).fetchHistory()).events!.length > 3);
  auditorKey = (await seedPrincipal(h, ['auditor'], ['*'])).key;
});
after(async () => {
  await h?.close();
});

function temporalCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const bin = process.env.TEMPORAL_CLI_PATH;
  if (!bin) throw new Error('TEMPORAL_CLI_PATH is not set: run the suite with `npm test`');
  const common = ['--address', h.config.temporal.address, '--namespace', h.config.temporal.namespace, '--disable-config-file', '--disable-config-env'];
  return new Promise((resolve) => {
    execFile(bin, [...args, ...common, '--command-timeout', '30s'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: stderr }),
    );
  });
}

/** The workflow input of `workflow show --output json`: its encoding and its data, base64-decoded. */
function startInput(out: string): { encoding: string; data: string } {
  const doc = JSON.parse(out) as {
    events: { workflowExecutionStartedEventAttributes?: { input: { payloads: { metadata: { encoding: string }; data: string }[] } } }[];
  };
  const p = doc.events[0].workflowExecutionStartedEventAttributes!.input.payloads[0];
  const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return { encoding: text(p.metadata.encoding), data: text(p.data) };
}

const show = (extra: string[] = []) => temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', ...extra]);

async function decode(body: unknown, headers: Record<string, string> = {}) {
  return h.api('POST', '/codec/decode', { key: auditorKey, body, headers });
}

describe('the real Temporal CLI reads histories through the codec endpoint', () => {
  it('without the codec the history holds only ciphertext (the control)', async () => {
    const r = await show();
    assert.equal(r.code, 0, r.err);
    const input = startInput(r.out);
    assert.equal(input.encoding, 'binary/encrypted');
    assert.ok(!input.data.includes(recoveryId), 'the recovery id is encrypted in the history');
  });

  it('temporal workflow show --codec-endpoint .../codec --codec-auth "Bearer <key>" prints the decoded history', async () => {
    const r = await show(['--codec-endpoint', `${h.baseUrl}/codec`, '--codec-auth', `Bearer ${auditorKey}`]);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.err}\n${r.out.slice(0, 2000)}`);
    const input = startInput(r.out);
    assert.equal(input.encoding, 'json/plain');
    assert.equal(JSON.parse(input.data).recoveryId, recoveryId, 'the decoded workflow input names the recovery');
    assert.ok(!r.out.includes(Buffer.from('binary/encrypted').toString('base64')), 'no payload is left encrypted');
  });

  it('with a key the codec refuses, the CLI reports the refusal instead of printing plaintext', async () => {
    const agent = await seedPrincipal(h, ['agent'], ['*']);
    const r = await show(['--codec-endpoint', `${h.baseUrl}/codec`, '--codec-auth', `Bearer ${agent.key}`]);
    // The SDK retries the refused decode until its deadline, then the CLI gives up.
    assert.notEqual(r.code, 0, 'the CLI fails rather than showing the history');
    assert.ok(!r.out.includes('workflowExecutionStartedEventAttributes'), r.out.slice(0, 500));
  });
});

describe('the codec endpoint answers the remote codec protocol', () => {
  it('an empty payload list, as `{}` (Go) or `{"payloads":[]}`, gives `{"payloads":[]}` in JSON on both endpoints', async () => {
    for (const op of ['decode', 'encode']) {
      for (const body of [{}, { payloads: [] }]) {
        const r = await h.api('POST', `/codec/${op}`, { key: auditorKey, body, headers: { 'x-namespace': h.config.temporal.namespace } });
        assert.equal(r.status, 200, `${op} ${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
        assert.deepEqual(r.body, { payloads: [] });
      }
    }
  });

  it("Go's JSON of payloads (no data field when empty, metadata only) round-trips through encode and decode", async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const payloads = [{ metadata: { encoding: b64('binary/null') } }, { metadata: { encoding: b64('json/plain') }, data: b64('{"a":1}') }];
    const encoded = await h.api('POST', '/codec/encode', { key: auditorKey, body: { payloads } });
    assert.equal(encoded.status, 200, encoded.text);
    assert.equal(encoded.body.payloads.length, 2);
    const decoded = await decode(encoded.body);
    assert.equal(decoded.status, 200, decoded.text);
    assert.deepEqual(decoded.body.payloads[1], payloads[1]);
    assert.deepEqual(decoded.body.payloads[0].metadata, payloads[0].metadata);
    assert.equal(decoded.body.payloads[0].data ?? '', '');
  });

  it("the Web UI's request: preflight from its origin, then POST with X-Namespace", async () => {
    const preflight = await fetch(`${h.baseUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
    });
    assert.ok(preflight.status === 204 || preflight.status === 200, `preflight ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI_ORIGIN);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const hdr of ['authorization', 'content-type', 'x-namespace']) assert.ok(allowed.includes(hdr), `allows ${hdr}: ${allowed}`);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);

    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(input.data!).toString('base64'),
        },
      ],
    };
    const r = await decode(body, { origin: UI_ORIGIN, 'x-namespace': h.config.temporal.namespace });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.ok(Buffer.from(r.body.payloads[0].data, 'base64').toString('utf8').includes(recoveryId));
  });

  it('a namespace this engine does not serve is refused, naming the header', async () => {
    const r = await decode({ payloads: [] }, { 'x-namespace': 'someone-else' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.details.field, 'x-namespace');
  });
});
