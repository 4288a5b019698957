// The OpenAPI document is generated from the same zod schemas that validate requests, so it
// cannot drift from the code; these tests check it covers every route, says which routes need a
// bearer key (probed by asking each without one) and is served.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const ROUTES = [
  'POST /v1/admin/tenants',
  'POST /v1/admin/tenants/{tenantId}/accounts',
  'PATCH /v1/admin/tenants/{tenantId}/accounts/{accountId}',
  'POST /v1/admin/principals',
  'POST /v1/admin/principals/{id}/disable',
  'POST /v1/admin/principals/{id}/rotate-key',
  'POST /v1/admin/principals/{id}/person-link',
  'POST /v1/persons/verify',
  'PUT /v1/admin/tenants/{tenantId}/policy',
  'GET /v1/admin/tenants/{tenantId}/policy',
  'PUT /v1/admin/tenants/{tenantId}/directory',
  'GET /v1/admin/tenants/{tenantId}/directory',
  'GET /v1/admin/tenants/{tenantId}/directory/health',
  'POST /v1/admin/directory-secrets/reseal',
  'POST /v1/recoveries',
  'GET /v1/recoveries',
  'GET /v1/recoveries/{id}',
  'POST /v1/recoveries/{id}/verifications',
  'POST /v1/recoveries/{id}/cancel',
  'POST /v1/recoveries/{id}/approvals',
  'GET /v1/links/{token}',
  'POST /v1/links/redeem',
  'POST /v1/links/cancel',
  'POST /v1/break-glass',
  'GET /v1/break-glass/{id}',
  'POST /v1/break-glass/{id}/approvals',
  'POST /v1/break-glass/{id}/credential',
  'POST /v1/break-glass/{id}/revoke',
  'POST /v1/break-glass/{id}/review',
  'POST /v1/directory/sessions',
  'POST /v1/directory/password-sessions',
  'POST /v1/events/login',
  'GET /v1/audit',
  'GET /v1/audit/verify',
  'POST /codec/encode',
  'POST /codec/decode',
  'GET /healthz',
  'GET /readyz',
];

describe('the OpenAPI document', () => {
  it('lists every API route with its request schema and the shared error shape', async () => {
    const r = await h.api('GET', '/openapi.json', { key: null });
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    assert.deepEqual([...documented].sort(), [...ROUTES].sort());
    const create = r.body.paths['/v1/recoveries'].post;
    assert.ok(create.requestBody.content['application/json'].schema.properties.context, 'request body schema present');
    assert.ok(create.responses['4XX'].content['application/json'].schema.properties.error, 'error shape documented');
  });

  it('marks exactly the routes that answer without a key as unauthenticated (security: [])', async () => {
    const doc = (await h.api('GET', '/openapi.json', { key: null })).body;
    assert.deepEqual(doc.security, [{ bearer: [] }], 'bearer is the default');
    const publicOps: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        // Asked without a key: a route with an auth hook answers 401 unauthenticated before it
        // looks at anything else; any other answer means the route is public.
        const r = await h.api(method.toUpperCase(), p.replace(/\{[^}]+\}/g, 'x0000000000000000'), { key: null });
        const needsKey = r.status === 401 && r.body?.error?.code === 'unauthenticated';
        const what = `${method.toUpperCase()} ${p} (answered ${r.status} without a key)`;
        if (needsKey)
          assert.ok(op.security === undefined || JSON.stringify(op.security) === '[{"bearer":[]}]', `${what}: documented as ${JSON.stringify(op.security)}`);
        else {
          assert.deepEqual(op.security, [], `${what}: documented as needing a bearer key`);
          publicOps.push(`${method.toUpperCase()} ${p}`);
        }
      }
    }
    // The probe itself works: these are public, everything under /v1/admin is not.
    for (const route of [
      'GET /healthz',
      'GET /readyz',
      'GET /v1/links/{token}',
      'POST /v1/links/redeem',
      'POST /v1/directory/sessions',
      'POST /v1/persons/verify',
    ])
      assert.ok(publicOps.includes(route), `${route} found public`);
    assert.ok(!publicOps.some((op) => op.includes('/v1/admin/')), publicOps.join(', '));
  });

  it('is browsable at /docs', async () => {
    const r = await h.api('GET', '/docs/', { key: null });
    assert.equal(r.status, 200);
    assert.match(r.text, /swagger/i);
  });

  it('serves the webhook directory contract as its own document at /docs/directory-webhook', async () => {
    const r = await h.api('GET', '/docs/directory-webhook', { key: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.info.title, 'Directory webhook contract');
    assert.ok(r.body.paths['/accounts/{id}/password'].post.requestBody, 'request bodies documented');
    assert.ok(r.body.paths['/accounts/{id}'].get.responses['200'].content['application/json'].schema, 'answers documented');
  });

  it('serves readiness with both backing services up', async () => {
    const r = await h.api('GET', '/readyz', { key: null });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.checks, { postgres: 'ok', temporal: 'ok' });
  });
});
