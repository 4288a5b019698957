// A fast-check property per route, through app.inject: whatever arrives (random JSON bodies,
// query strings and path parameters), the answer is never a 5xx, and every 4xx carries the one
// error shape naming what was wrong. Routes come from the OpenAPI document, so a new route is
// covered without anyone remembering to add it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedPrincipal } from '../../testkit/seed';

let h: Harness;
let key: string;
let routes: { method: string; path: string }[] = [];
before(async () => {
  h = await startHarness();
  key = (await seedPrincipal(h, ['agent', 'approver', 'break_glass_approver', 'reviewer', 'auditor', 'admin'], ['*'])).key;
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
  routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path })));
});
after(async () => {
  await h?.close();
});

const segment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('rec_AAAAAAAAAAAAAAAA', 'bg_AAAAAAAAAAAAAAAA', 'acme', 't1.' + 'A'.repeat(43), '%00', '..', '%E0%A4%A'),
);
const query = fc.dictionary(
  fc.constantFrom('tenantId', 'status', 'accountId', 'limit', 'before', 'format', 'from', 'to', 'tenant', 'x'),
  fc.string({ maxLength: 30 }),
  { maxKeys: 4 },
);

describe('no route answers 5xx to random input', () => {
  it('covers every documented route', () => {
    assert.ok(routes.length >= 28, `${routes.length} routes`);
  });

  it('each route, 40 random requests: status < 500, and 4xx in the error shape', async () => {
    for (const route of routes) {
      if (route.path === '/readyz') continue; // its 503 is the point of it, with its own shape
      await fc.assert(
        fc.asyncProperty(
          fc.array(segment, { minLength: 3, maxLength: 3 }),
          query,
          fc.option(fc.jsonValue(), { nil: undefined }),
          fc.boolean(),
          async (params, q, body, authed) => {
            let i = 0;
            const url =
              route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++] ?? 'x').replace(/%25/g, '%')) +
              (Object.keys(q).length ? `?${new URLSearchParams(q).toString()}` : '');
            const res = await h.app.inject({
              method: route.method as 'GET',
              url,
              headers: { ...(authed ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
              payload: body === undefined ? undefined : JSON.stringify(body),
            });
            assert.ok(res.statusCode < 500, `${route.method} ${url} ${JSON.stringify(body)?.slice(0, 200)} -> ${res.statusCode} ${res.body.slice(0, 300)}`);
            if (res.statusCode >= 400) {
              const e = res.json().error;
              assert.equal(typeof e?.code, 'string', `${route.method} ${url}: ${res.body}`);
              assert.equal(typeof e?.message, 'string');
              assert.ok(!/\n\s+at /.test(res.body), 'no stack trace');
            }
          },
        ),
        { numRuns: 40 },
      );
    }
  });
});
