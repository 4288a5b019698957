// Issue 15: when the Temporal Web UI logs its users in with OIDC ("Pass the user access token"),
// the codec accepts that access token: verified against the configured issuer's JWKS (signature,
// issuer, audience, expiry) and mapped to a principal by a configured claim; refused otherwise.
// The issuer here is a real HTTP server serving a JWKS; the tokens are minted by its key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { startLocalIssuer, type LocalIssuer } from '../../testkit/oidc-issuer';
import { execFile } from 'node:child_process';
import { recoveryBody, seedLocalAccount, seedPrincipal, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
let idp: LocalIssuer;
const AUDIENCE = 'temporal-ui';
const CLAIM = 'recovery_principal';
const b64 = (s: string) => Buffer.from(s).toString('base64');
let sealed: unknown;
let auditor: { id: string; key: string };

before(async () => {
  idp = await startLocalIssuer(AUDIENCE);
  h = await startHarness({
    env: { CODEC_OIDC_ISSUER: idp.issuer, CODEC_OIDC_AUDIENCE: AUDIENCE, CODEC_OIDC_JWKS_URL: idp.jwksUrl, CODEC_OIDC_PRINCIPAL_CLAIM: CLAIM },
  });
  const enc = await h.api('POST', '/codec/encode', {
    body: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('{"recoveryId":"rec_oidc"}') }] },
  });
  assert.equal(enc.status, 200, enc.text);
  sealed = enc.body;
  auditor = await seedPrincipal(h, ['auditor'], ['*']);
});

/** `temporal workflow show` of a fresh recovery with the given codec auth: its exit code and the decoded input, if any. */
async function cliShow(auth: string): Promise<{ code: number; input: string }> {
  const { tenantId, accountId, agent } = await seedLocalAccount(h);
  const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
  assert.equal(r.status, 202, r.text);
  const workflowId = `recovery:${tenantId}:${accountId}:password_reset`;
  await until('the workflow started', async () => (await h.client.workflow.getHandle(workflowId).fetchHistory()).events!.length > 3);
  const bin = process.env.TEMPORAL_CLI_PATH;
  if (!bin) throw new Error('TEMPORAL_CLI_PATH is not set: run the suite with `npm test`');
  const args = [
    'workflow',
    'show',
    '--workflow-id',
    workflowId,
    '--output',
    'json',
    '--address',
    h.config.temporal.address,
    '--namespace',
    h.config.temporal.namespace,
  ];
  args.push('--disable-config-file', '--disable-config-env', '--command-timeout', '20s', '--codec-endpoint', `${h.baseUrl}/codec`, '--codec-auth', auth);
  return new Promise((resolve) =>
    execFile(bin, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, out) => {
      if (err) return resolve({ code: (err as { code?: number }).code ?? 1, input: '' });
      const doc = JSON.parse(out) as { events: { workflowExecutionStartedEventAttributes?: { input: { payloads: { data: string }[] } } }[] };
      resolve({ code: 0, input: Buffer.from(doc.events[0].workflowExecutionStartedEventAttributes!.input.payloads[0].data, 'base64').toString('utf8') });
    }),
  );
}
after(async () => {
  await h?.close();
  await idp?.close();
});

const decodeWith = (token: string) => h.api('POST', '/codec/decode', { key: null, body: sealed, headers: { authorization: `Bearer ${token}` } });

describe('the codec accepts an OIDC access token of the configured issuer', () => {
  it('a valid token naming an auditor with "*" scope decodes, counted under that principal', async () => {
    const r = await decodeWith(await idp.mint({ claims: { [CLAIM]: auditor.id, sub: 'someone@idp' } }));
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(Buffer.from(r.body.payloads[0].data, 'base64').toString('utf8')).recoveryId, 'rec_oidc');
    const m = await h.api('GET', '/metrics');
    assert.match(m.text, new RegExp(`recovery_codec_decoded_payloads_total\\{principal="${auditor.id}",via="oidc"\\} 1`));
  });

  it('the Temporal CLI decodes with an access token: temporal workflow show --codec-auth "Bearer <token>"', async () => {
    const r = await cliShow(`Bearer ${await idp.mint({ claims: { [CLAIM]: auditor.id } })}`);
    assert.equal(r.code, 0);
    assert.match(r.input, /"recoveryId":"rec_/);
  });

  it('the CLI gets nothing decoded with an expired token', async () => {
    const r = await cliShow(`Bearer ${await idp.mint({ claims: { [CLAIM]: auditor.id }, expiresIn: -120 })}`);
    assert.notEqual(r.code, 0, 'the CLI fails rather than showing the history');
  });

  it('API keys still work beside OIDC (the CLI path)', async () => {
    assert.equal((await h.api('POST', '/codec/decode', { key: auditor.key, body: sealed })).status, 200);
  });
});

describe('the codec refuses every other token', () => {
  const refusals: [string, () => Promise<string>][] = [
    ['another issuer', () => idp.mint({ claims: { [CLAIM]: auditor.id }, issuer: 'https://evil.example' })],
    ['another audience', () => idp.mint({ claims: { [CLAIM]: auditor.id }, audience: 'some-other-app' })],
    ['a signature by a key the JWKS does not hold', () => idp.mint({ claims: { [CLAIM]: auditor.id }, foreignKey: true })],
    ['an expired token', () => idp.mint({ claims: { [CLAIM]: auditor.id }, expiresIn: -120 })],
    ['no principal claim', () => idp.mint({ claims: { sub: auditor.id } })],
    ['a principal claim naming no principal', () => idp.mint({ claims: { [CLAIM]: 'prn_nobodyAtAll' } })],
  ];
  for (const [what, mint] of refusals) {
    it(`refuses ${what} with 401`, async () => {
      const r = await decodeWith(await mint());
      assert.equal(r.status, 401, r.text);
      assert.equal(r.body.error.code, 'unauthenticated');
      assert.equal(r.body.payloads, undefined);
    });
  }

  it('refuses a token whose payload was altered after signing', async () => {
    const [head, , sig] = (await idp.mint({ claims: { [CLAIM]: 'prn_x' } })).split('.');
    const forged = Buffer.from(JSON.stringify({ [CLAIM]: auditor.id, iss: idp.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })).toString(
      'base64url',
    );
    assert.equal((await decodeWith(`${head}.${forged}.${sig}`)).status, 401);
  });

  it('refuses a valid token of a principal that may not decode (403), or one scoped to a tenant', async () => {
    const agent = await seedPrincipal(h, ['agent'], ['*']);
    const a = await decodeWith(await idp.mint({ claims: { [CLAIM]: agent.id } }));
    assert.equal(a.status, 403, a.text);
    const scoped = await seedPrincipal(h, ['auditor'], [await seedTenant(h, 'local')]);
    const s = await decodeWith(await idp.mint({ claims: { [CLAIM]: scoped.id } }));
    assert.equal(s.status, 403, s.text);
    assert.equal(s.body.error.code, 'scope_too_narrow');
  });

  it('refuses the token of a disabled principal', async () => {
    const gone = await seedPrincipal(h, ['auditor'], ['*']);
    assert.equal((await h.api('POST', `/v1/admin/principals/${gone.id}/disable`, { body: { reason: 'left the team' } })).status, 200);
    assert.equal((await decodeWith(await idp.mint({ claims: { [CLAIM]: gone.id } }))).status, 401);
  });
});
