// The OpenAPI document is generated from the same zod schemas that validate requests, so it
// cannot drift from the code; these tests check it covers every route, says which routes need a
// bearer key (probed by asking each without one) and is served; that every operation has a unique
// operationId and examples the route's own schemas accept; and that its links walk the recovery and
// break-glass flows to real operations, with parameters that resolve (one followed for real).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { documentedSchemas } from '../../api/openapi-links';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedPrincipal } from '../../testkit/seed';

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
  'POST /v1/admin/principals/{id}/console-sessions/revoke',
  'POST /v1/admin/principals/{id}/disable',
  'POST /v1/admin/principals/{id}/rotate-key',
  'POST /v1/admin/principals/{id}/person-link',
  'POST /v1/persons/verify',
  'PUT /v1/admin/tenants/{tenantId}/policy',
  'GET /v1/admin/tenants/{tenantId}/policy',
  'PUT /v1/admin/tenants/{tenantId}/access-review-schedule',
  'GET /v1/admin/tenants/{tenantId}/access-review-schedule',
  'POST /v1/admin/tenants/{tenantId}/access-review-schedule/pause',
  'POST /v1/admin/tenants/{tenantId}/access-review-schedule/unpause',
  'POST /v1/admin/tenants/{tenantId}/access-review-schedule/trigger',
  'GET /v1/access-reviews/{id}',
  'GET /v1/access-reviews',
  'PUT /v1/admin/tenants/{tenantId}/directory',
  'GET /v1/admin/tenants/{tenantId}/directory',
  'GET /v1/admin/tenants/{tenantId}/directory/health',
  'POST /v1/admin/directory-secrets/reseal',
  'POST /v1/admin/tenants/{tenantId}/scim-token',
  'POST /v1/recoveries',
  'GET /v1/recoveries',
  'GET /v1/recoveries/{id}',
  'GET /v1/recoveries/{id}/evidence',
  'POST /v1/recoveries/{id}/verifications',
  'POST /v1/recoveries/{id}/cancel',
  'POST /v1/recoveries/{id}/approvals',
  'GET /v1/links/{token}',
  'POST /v1/links/redeem',
  'POST /v1/links/cancel',
  'POST /v1/links/factor',
  'POST /v1/links/factor/confirm',
  'POST /v1/invitations',
  'GET /v1/invitations/{id}',
  'POST /v1/break-glass',
  'GET /v1/break-glass/{id}',
  'GET /v1/break-glass/{id}/evidence',
  'POST /v1/break-glass/{id}/approvals',
  'POST /v1/break-glass/{id}/credential',
  'POST /v1/break-glass/{id}/revoke',
  'POST /v1/break-glass/{id}/review',
  'POST /v1/directory/sessions',
  'POST /v1/directory/password-sessions',
  'POST /v1/events',
  'POST /v1/events/login',
  'POST /v1/risk/assess',
  'GET /v1/risk-responses',
  'GET /v1/risk-responses/{id}',
  'POST /v1/risk-responses/{id}/reverse',
  'POST /v1/risk-responses/{id}/acknowledge',
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
    assert.ok(create.responses['400'].content['application/json'].schema.properties.error, 'error shape documented');
  });

  it('documents the error statuses of each operation one by one, each in the one error shape, and no ranges', async () => {
    for (const { key, op } of operations(await doc())) {
      const statuses = Object.keys(op.responses);
      assert.deepEqual(
        statuses.filter((s) => !/^[1-5]\d\d$/.test(s)),
        [],
        `${key}: exact statuses only`,
      );
      // Every operation: malformed input, the read bounds, oversized headers, unavailable.
      for (const s of ['400', '408', '431', '503']) assert.ok(statuses.includes(s), `${key} documents ${s}`);
      if (/^(POST|PUT|PATCH) /.test(key)) for (const s of ['413', '415']) assert.ok(statuses.includes(s), `${key} reads a body: documents ${s}`);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = JSON.stringify(response.content?.['application/json']?.schema ?? null);
        assert.match(
          schema,
          /"error":\{"type":"object","properties":\{"code":\{"type":"string"\},"message":\{"type":"string"\}/,
          `${key} ${status}: the error shape`,
        );
      }
    }
  });

  it('marks exactly the routes that answer without a key as unauthenticated (security: [])', async () => {
    const doc = (await h.api('GET', '/openapi.json', { key: null })).body;
    assert.deepEqual(doc.security, [{ bearer: [] }], 'bearer is the default');
    const publicOps: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        // Asked without a key: a route with an auth hook answers 401 unauthenticated before it
        // looks at anything else; any other answer means the route is public.
        const r = await h.api(method.toUpperCase(), p.replace(/\{[^}]+\}/g, 'x0000000000000000'), { key: null });
        const needsKey = r.status === 401 && r.body?.error?.code === 'unauthenticated';
        const what = `${method.toUpperCase()} ${p} (answered ${r.status} without a key)`;
        const documented = Object.keys(op.responses);
        if (needsKey) {
          assert.ok(op.security === undefined || JSON.stringify(op.security) === '[{"bearer":[]}]', `${what}: documented as ${JSON.stringify(op.security)}`);
          assert.ok(documented.includes('401') && documented.includes('403'), `${what}: documents 401 and 403`);
        } else {
          assert.deepEqual(op.security, [], `${what}: documented as needing a bearer key`);
          publicOps.push(`${method.toUpperCase()} ${p}`);
          // No key, so no 403; 401 only where a presented credential or password is refused.
          assert.ok(!documented.includes('403'), `${what}: documents 403`);
          assert.equal(documented.includes('401'), /^\/v1\/directory\//.test(p), `${what}: documents 401 only for the directory sign-ins`);
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

  it('gives every operation a unique operationId', async () => {
    const ids = operations(await doc()).map(({ op }) => op.operationId);
    for (const id of ids) assert.match(String(id), /^[a-z][A-Za-z]+$/);
    assert.equal(new Set(ids).size, ROUTES.length, `duplicates in ${ids.join(', ')}`);
  });

  it("carries examples for every request body and path parameter, each accepted by the route's own schema", async () => {
    const schemas = documentedSchemas(h.app);
    for (const { key, op } of operations(await doc())) {
      const schema = schemas.get(key.replace(/\{(\w+)\}/g, ':$1')) as Record<string, z.ZodType> | undefined;
      assert.ok(schema, `${key}: the route's schema was recorded`);
      const media = op.requestBody?.content['application/json'];
      if (op.requestBody) {
        const examples = media?.example !== undefined ? [media.example] : Object.values(media?.examples ?? {}).map((e) => e.value);
        assert.ok(examples.length > 0, `${key}: a request body example`);
        for (const ex of examples) assert.ok(schema.body.safeParse(ex).success, `${key}: body example ${JSON.stringify(ex)} accepted`);
      }
      for (const where of ['path', 'query'] as const) {
        const params = (op.parameters ?? []).filter((p) => p.in === where);
        if (where === 'path') for (const p of params) assert.ok(p.example !== undefined, `${key}: an example of path parameter ${p.name}`);
        const example = Object.fromEntries(params.filter((p) => p.example !== undefined).map((p) => [p.name, p.example]));
        if (Object.keys(example).length === 0) continue;
        const parsed = schema[where === 'path' ? 'params' : 'querystring'].safeParse(example);
        assert.ok(parsed.success, `${key}: ${where} example ${JSON.stringify(example)} accepted`);
      }
    }
  });

  it('links start -> get -> verifications -> approvals and break-glass request -> approvals -> credential -> revoke -> review', async () => {
    const d = await doc();
    const byId = new Map(operations(d).map((o) => [o.op.operationId!, o]));
    const linksOf = (id: string, status: string) => Object.values(byId.get(id)?.op.responses[status]?.links ?? {}).map((l) => l.operationId);
    const expected: [string, string, string[]][] = [
      ['startRecovery', '202', ['getRecovery', 'submitVerification', 'decideRecovery', 'cancelRecovery']],
      ['getRecovery', '200', ['submitVerification', 'decideRecovery', 'cancelRecovery']],
      ['submitVerification', '200', ['decideRecovery']],
      ['requestBreakGlass', '202', ['getGrant', 'decideGrant', 'pickUpCredential', 'revokeGrant', 'reviewGrant']],
      ['decideGrant', '200', ['pickUpCredential']],
      ['pickUpCredential', '200', ['revokeGrant', 'reviewGrant']],
      ['revokeGrant', '200', ['reviewGrant']],
    ];
    for (const [source, status, targets] of expected)
      for (const t of targets) assert.ok(linksOf(source, status).includes(t), `${source} ${status} links to ${t}`);
    // Every link anywhere: a real target, its parameters that target's path parameters, each
    // expression pointing at a field the source's answer documents (or a parameter of its request).
    for (const { key, op } of operations(d)) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const link of Object.values(response.links ?? {})) {
          const target = byId.get(link.operationId);
          assert.ok(target, `${key} ${status}: links to an existing operation (${link.operationId})`);
          const targetPath = (target.op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
          assert.deepEqual(Object.keys(link.parameters).sort(), targetPath.sort(), `${key} -> ${link.operationId}: every path parameter supplied`);
          for (const expr of Object.values(link.parameters)) {
            const field = /^\$response\.body#\/(\w+)$/.exec(expr)?.[1];
            const param = /^\$request\.path\.(\w+)$/.exec(expr)?.[1];
            if (field) assert.ok(response.content?.['application/json']?.schema?.properties?.[field], `${key} ${status}: its answer documents ${field}`);
            else if (param)
              assert.ok(
                op.parameters?.some((p) => p.in === 'path' && p.name === param),
                `${key}: has path parameter ${param}`,
              );
            else assert.fail(`${key} -> ${link.operationId}: unsupported expression ${expr}`);
          }
        }
      }
    }
  });

  it("follows the start recovery link for real: the documented examples start one, and the link's id reads it back", async () => {
    const d = await doc();
    const byId = new Map(operations(d).map((o) => [o.op.operationId!, o]));
    const example = (id: string) => byId.get(id)!.op.requestBody!.content['application/json'].example;
    assert.equal((await h.api('POST', '/v1/admin/tenants', { body: example('createTenant') })).status, 201);
    const imported = await h.api('POST', '/v1/admin/tenants/acme/accounts', { body: example('importAccounts') });
    assert.equal(imported.status, 200, imported.text);
    const agent = await seedPrincipal(h, ['agent'], ['acme']);
    const started = await h.api('POST', '/v1/recoveries', { key: agent.key, body: example('startRecovery') });
    assert.ok(started.status === 202 || started.status === 200, started.text);
    const link = byId.get('startRecovery')!.op.responses[String(started.status)].links!.getRecovery;
    const id = started.body[link.parameters.id.replace('$response.body#/', '')] as string;
    const get = byId.get(link.operationId)!;
    const read = await h.api('GET', get.key.split(' ')[1].replace('{id}', id));
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.id, id);
  });
});

interface Op {
  operationId?: string;
  parameters?: { in: string; name: string; example?: unknown }[];
  requestBody?: { content: Record<string, { example?: unknown; examples?: Record<string, { value: unknown }> }> };
  responses: Record<
    string,
    {
      content?: Record<string, { schema?: { properties?: Record<string, unknown> } }>;
      links?: Record<string, { operationId: string; parameters: Record<string, string> }>;
    }
  >;
}
type Doc = { paths: Record<string, Record<string, Op>> };

async function doc(): Promise<Doc> {
  const r = await h.api<Doc>('GET', '/openapi.json', { key: null });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Each operation as `METHOD /path` (the document's spelling) with its object. */
const operations = (d: Doc) => Object.entries(d.paths).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, op })));
