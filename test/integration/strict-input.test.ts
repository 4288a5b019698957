// Strict input at the HTTP edge (issue 16, item 11): bodies only as application/json in UTF-8
// (anything else is 415), duplicate JSON keys refused naming the key, and query-string integers
// in decimal digits only, each refusal naming the parameter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { recoveryBody, seedLocalAccount, seedTenant } from '../../testkit/seed';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A made-up link: a request that passes the edge answers 404 link_invalid. */
const REDEEM = JSON.stringify({ token: 'made-up-token-0123456789', newPassword: 'lantern-otter-carries-42-maps' });

async function post(path: string, raw: string | Uint8Array, contentType: string | null, key: string | null = null) {
  const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
  if (key) headers.authorization = `Bearer ${key}`;
  // A Uint8Array body makes fetch send no content-type of its own.
  const body = typeof raw === 'string' && contentType === null ? new TextEncoder().encode(raw) : raw;
  const res = await fetch(h.baseUrl + path, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, body: text ? (JSON.parse(text) as { error?: { code: string; details?: { field?: string } } }) : null };
}

function assertRefused(r: Awaited<ReturnType<typeof post>>, status: number, code: string, field: string, what: string) {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.equal(r.body?.error?.code, code, `${what}: ${r.text}`);
  assert.equal(r.body?.error?.details?.field, field, `${what}: ${r.text}`);
}

describe('request bodies are application/json in UTF-8, nothing else', () => {
  for (const [what, contentType] of [
    ['text/plain carrying JSON', 'text/plain'],
    ['text/plain; charset=utf-8 carrying JSON', 'text/plain; charset=utf-8'],
    ['a charset other than UTF-8', 'application/json; charset=iso-8859-1'],
    ['UTF-16 declared', 'application/json; charset=utf-16'],
    ['an unknown parameter', 'application/json; profile=x'],
    ['a JSON-like subtype', 'application/json-patch+json'],
    ['a longer subtype', 'application/jsonx'],
    ['no content-type with a body', null],
  ] as const) {
    it(`refuses ${what} with 415 unsupported_media_type`, async () => {
      assertRefused(await post('/v1/links/redeem', REDEEM, contentType), 415, 'unsupported_media_type', 'content-type', what);
    });
  }

  it('refuses a non-JSON content type on an authenticated route too (after authentication)', async () => {
    const body = JSON.stringify({ id: 'acme-strict', name: 'Acme', authMode: 'local', securityContacts: ['security@acme.test'] });
    assertRefused(await post('/v1/admin/tenants', body, 'text/plain', h.adminKey), 415, 'unsupported_media_type', 'content-type', 'text/plain');
  });

  for (const contentType of ['application/json', 'application/json; charset=utf-8', 'Application/JSON; Charset=UTF-8', 'application/json;charset="utf-8"']) {
    it(`accepts ${contentType}`, async () => {
      const r = await post('/v1/links/redeem', REDEEM, contentType);
      assert.equal(r.status, 404, r.text);
      assert.equal(r.body?.error?.code, 'link_invalid');
    });
  }
});

describe('duplicate JSON keys are refused, naming the key', () => {
  it('a duplicated top-level key: 400 duplicate_key, not the last value silently', async () => {
    const tenantId = await seedTenant(h, 'local');
    const raw = `{"token":"made-up-token-0123456789","tenantId":"${tenantId}","tenantId":"other","newPassword":"lantern-otter-carries-42-maps"}`;
    assertRefused(await post('/v1/links/redeem', raw, 'application/json'), 400, 'duplicate_key', 'tenantId', 'duplicated tenantId');
  });

  it('a duplicated nested key names its path; the same key in two objects is fine', async () => {
    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const body = recoveryBody(tenantId, accountId);
    const nested = JSON.stringify(body).replace('"ip":', '"ip":"198.51.100.9","ip":');
    assertRefused(await post('/v1/recoveries', nested, 'application/json', agent.key), 400, 'duplicate_key', 'context.ip', 'duplicated context.ip');
    // Keys named alike in sibling objects, and escaped spellings of different keys, are not duplicates.
    const fine = JSON.stringify(body).replace('"reason":', '"re\\u0061son":');
    const r = await post('/v1/recoveries', fine, 'application/json', agent.key);
    assert.equal(r.status, 202, r.text);
  });

  it('an escaped spelling of the same key is a duplicate too', async () => {
    const raw = `{"token":"made-up-token-0123456789","tenantId":"acme","tenant\\u0049d":"other"}`;
    assertRefused(await post('/v1/links/redeem', raw, 'application/json'), 400, 'duplicate_key', 'tenantId', 'escaped duplicate');
  });
});

describe('query-string integers are decimal digits only', () => {
  for (const [what, value] of [
    ['hexadecimal', '0x10'],
    ['binary', '0b11'],
    ['octal', '0o7'],
    ['padded with encoded spaces', '%205%20'],
    ['padded with plus signs (form spaces)', '+5+'],
    ['an exponent', '1e1'],
    ['a fraction', '5.0'],
    ['a sign', '%2B5'],
    ['empty', ''],
  ] as const) {
    it(`refuses ${what} (${value}) naming the parameter`, async () => {
      const r = await h.api('GET', `/v1/recoveries?tenantId=acme&limit=${value}`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.code, 'invalid_field', r.text);
      assert.equal(r.body.error.details.field, 'query.limit', r.text);
      const a = await h.api('GET', `/v1/audit?tenantId=acme&limit=${value}`);
      assert.equal(a.status, 400, a.text);
      assert.equal(a.body.error.details.field, 'query.limit', a.text);
    });
  }

  it('accepts plain decimal integers and the default', async () => {
    for (const q of ['', '&limit=5', '&limit=200']) {
      const r = await h.api('GET', `/v1/recoveries?tenantId=acme${q}`);
      assert.equal(r.status, 200, r.text);
    }
    const r = await h.api('GET', '/v1/recoveries?tenantId=acme&limit=201');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.details.field, 'query.limit');
  });
});
