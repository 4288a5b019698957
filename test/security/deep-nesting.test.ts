// Issue 11, item 12: deeply nested JSON bodies (thousands of arrays or objects) must never
// overflow a recursive walk of the input. Every route that takes a JSON body, taken from the
// OpenAPI document so a new route is covered without anyone listing it, is sent nested arrays and
// nested objects over real HTTP by a principal holding every role with `*` scope (so the body is
// parsed), and by no one on the public routes. Each answer is 400 `nesting_too_deep` naming the
// body, never a 500.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedIngestion, seedPrincipal } from '../../testkit/seed';
import { PRINCIPAL_ROLES } from '../../domain/types';

let h: Harness;
let key: string;
let ingestionKey: string;
const routes: { method: string; path: string; public: boolean }[] = [];

interface Operation {
  requestBody?: { content?: Record<string, unknown> };
}

before(async () => {
  h = await startHarness();
  // `ingestion` is a role of its own: the event routes get an ingestion key, every other route the rest.
  key = (
    await seedPrincipal(
      h,
      PRINCIPAL_ROLES.filter((r) => r !== 'ingestion'),
      ['*'],
    )
  ).key;
  ingestionKey = (await seedIngestion(h, ['*'])).key;
  const doc = (await h.api('GET', '/openapi.json', { key: null })).body as { paths: Record<string, Record<string, Operation>> };
  const withBody = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([, op]) => op.requestBody?.content?.['application/json'])
      .map(([method]) => ({ method: method.toUpperCase(), path })),
  );
  // Public routes are the ones that answer a keyless request with anything but 401.
  for (const r of withBody) routes.push({ ...r, public: (await h.api(r.method, urlOf(r.path), { key: null, body: {} })).status !== 401 });
});
after(async () => {
  await h?.close();
});

const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** Bodies that parse as JSON but nest far past any schema of the API. */
const BODIES: [string, string][] = [
  ['4,000 nested arrays', arrays(4000)],
  ['10,000 nested arrays', arrays(10_000)],
  ['7,700 nested objects', objects(7700)],
  ['nested arrays inside a field', `{"tenantId":${arrays(4000)}}`],
  ['nested objects inside a field', `{"accounts":[${objects(7700)}]}`],
];

/** The key that passes the route's role check, so the body reaches the walk. */
const keyFor = (path: string) => (path === '/v1/events/login' || path === '/v1/events' ? ingestionKey : key);

const urlOf = (path: string) => path.replace(/\{[^}]+\}/g, (m) => (m === '{token}' ? 't1.' + 'A'.repeat(43) : `x${m.length}`));

async function expectDeepRefused(method: string, path: string, raw: string, what: string, auth: string | null) {
  const r = await h.api(method, urlOf(path), { key: auth, raw, headers: { 'content-type': 'application/json' }, timeoutMs: 30_000 });
  const ctx = `${method} ${path} with ${what}${auth ? '' : ' (no auth)'} -> ${r.status} ${r.text.slice(0, 300)}`;
  assert.ok(r.status < 500, `server error: ${ctx}`);
  assert.equal(r.status, 400, ctx);
  assert.equal(r.body?.error?.code, 'nesting_too_deep', ctx);
  assert.equal(r.body?.error?.details?.field, 'body', ctx);
}

describe('deeply nested bodies are refused with 400 on every JSON-body route', () => {
  it('finds the JSON-body routes, the public ones and the 5 MB account import among them', () => {
    assert.ok(routes.length >= 18, `${routes.length} JSON-body routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    assert.ok(
      routes.some((r) => r.public),
      'some are public',
    );
    assert.ok(routes.some((r) => r.path === '/v1/admin/tenants/{tenantId}/accounts'));
  });

  it('thousands of nested arrays or objects, authenticated with every role: 400 nesting_too_deep, never 500', async () => {
    for (const route of routes) for (const [what, raw] of BODIES) await expectDeepRefused(route.method, route.path, raw, what, keyFor(route.path));
  });

  it('the public routes refuse them the same way without any key', async () => {
    for (const route of routes.filter((r) => r.public)) for (const [what, raw] of BODIES) await expectDeepRefused(route.method, route.path, raw, what, null);
  });

  it('the account import, whose body may reach 5 MB, refuses a million levels of nesting', async () => {
    await expectDeepRefused('POST', '/v1/admin/tenants/{tenantId}/accounts', arrays(1_000_000), 'a million nested arrays', key);
    await expectDeepRefused('POST', '/v1/admin/tenants/{tenantId}/accounts', objects(400_000), '400,000 nested objects', key);
  });

  it('a shallow body still reaches validation (the cap does not refuse ordinary input)', async () => {
    const r = await h.api('POST', '/v1/admin/tenants', { key, body: { id: 'deep-ok', authMode: 'local', name: { a: { b: { c: [[[1]]] } } } } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'invalid_field', r.text);
    assert.equal(r.body.error.details.field, 'name', r.text);
  });
});
