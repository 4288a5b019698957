// Issue 16, items 9 and 2: the OpenAPI document states every input bound the server enforces.
// For each bound, the document served by a running engine says it (checked with a JSON Schema
// 2020-12 validator, as a generated client or an API gateway would read it) and the server
// enforces it (a real request answers 400 naming the field). Then: deep nesting is refused with 400
// at every body size limit, and the documented patterns run in linear time in JavaScript and in
// Python's `re` (what schemathesis generates from and checks with).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { startHarness, type Harness } from '../../testkit/engine';
import { recoveryBody, seedAccount, seedIngestion, seedPrincipal, seedTenant, uniq } from '../../testkit/seed';
import { PRINCIPAL_ROLES } from '../../domain/types';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; oneOf?: Schema[] };
interface Parameter {
  in: string;
  name: string;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
type Doc = { paths: Record<string, Record<string, Operation>> };

// Formats are hints; the patterns carry the rules. `example` is OpenAPI's own keyword.
const ajv = new Ajv2020({ strict: false, validateFormats: false });
const accepts = (schema: Schema, value: unknown) => ajv.validate(schema, value);

let h: Harness;
let doc: Doc;
/** A principal with every role but ingestion, `*` scope: it gets past every role check. */
let key: string;
let ingestionKey: string;
let tenantId: string;

before(async () => {
  h = await startHarness();
  doc = (await h.api('GET', '/openapi.json', { key: null })).body as Doc;
  key = (
    await seedPrincipal(
      h,
      PRINCIPAL_ROLES.filter((r) => r !== 'ingestion'),
      ['*'],
    )
  ).key;
  ingestionKey = (await seedIngestion(h, ['*'])).key;
  tenantId = await seedTenant(h, 'local');
});
after(async () => {
  await h?.close();
});

const op = (d: Doc, method: string, p: string): Operation => {
  const o = d.paths[p]?.[method.toLowerCase()];
  assert.ok(o, `${method} ${p} is documented`);
  return o;
};
const bodyOf = (d: Doc, method: string, p: string): Schema => op(d, method, p).requestBody!.content['application/json'].schema;
/** The schema at a dotted path of properties (`items` for `[]`, `additionalProperties` for `{}`). */
const at = (s: Schema, where: string): Schema =>
  where.split('.').reduce((node, k) => {
    const next = k === '[]' ? node.items : k === '{}' ? (node.additionalProperties as Schema | undefined) : node.properties?.[k];
    assert.ok(next, `${where}: no ${k} in ${JSON.stringify(node).slice(0, 200)}`);
    return next;
  }, s);

/** Expects a 400 naming `field` (with `code` when given). */
function refused(r: { status: number; text: string; body: { error?: { code?: string; details?: { field?: string } } } }, field: string, code?: string) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error?.details?.field, field, r.text);
  if (code) assert.equal(r.body.error?.code, code, r.text);
}

const urlOf = (p: string) => p.replace(/\{[^}]+\}/g, (m) => (m === '{token}' ? 't1.' + 'A'.repeat(43) : m === '{id}' ? 'rec_AAAAAAAAAAAAAAAA' : tenantId));
const keyFor = (p: string) => (p === '/v1/events/login' || p === '/v1/events' ? ingestionKey : key);

describe('trimmed text fields: white space only is refused, and the document says so', () => {
  const TRIMMED: [string, string, string][] = [
    ['POST', '/v1/admin/tenants', 'name'],
    ['POST', '/v1/admin/principals', 'name'],
    ['POST', '/v1/recoveries', 'reason'],
    ['POST', '/v1/recoveries', 'ticketRef'],
    ['POST', '/v1/recoveries/{id}/approvals', 'comment'],
    ['POST', '/v1/break-glass', 'justification'],
    ['POST', '/v1/break-glass/{id}/review', 'notes'],
  ];

  it('each trimmed field’s pattern refuses blanks and accepts text with blanks around it', () => {
    for (const [method, p, field] of TRIMMED) {
      const s = at(bodyOf(doc, method, p), field);
      const what = `${method} ${p} ${field}`;
      for (const blank of [' ', '   ', '\t \n', '\u00a0\u3000', '\ufeff '])
        assert.equal(accepts(s, blank), false, `${what}: ${JSON.stringify(blank)} documented as acceptable`);
      for (const ok of ['Acme', ' Acme Ltd ', '\tZürich 東京\n', 'a 😀 b'])
        assert.equal(accepts(s, ok), true, `${what}: ${JSON.stringify(ok)} documented as refused`);
    }
  });

  it('the server refuses white space only in them (400 naming the field)', async () => {
    refused(await h.api('POST', '/v1/admin/tenants', { body: { id: uniq('ws'), name: ' \t ', authMode: 'local' } }), 'name');
    refused(await h.api('POST', '/v1/admin/principals', { body: { name: '\u3000', roles: ['agent'], tenantScope: [tenantId] } }), 'name');
    const accountId = await seedAccount(h, tenantId);
    refused(await h.api('POST', '/v1/recoveries', { key, body: recoveryBody(tenantId, accountId, { reason: '   ' }) }), 'reason');
  });
});

/** Every string schema the server reads: body properties (at any depth), query and path parameters. */
function inputStrings(d: Doc): { where: string; schema: Schema }[] {
  const found: { where: string; schema: Schema }[] = [];
  const walk = (s: Schema | undefined, where: string) => {
    if (!s || typeof s !== 'object') return;
    if (s.type === 'string') found.push({ where, schema: s });
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`);
    for (const k of ['items', 'additionalProperties', 'propertyNames'] as const) walk(s[k] as Schema | undefined, `${where}.${k}`);
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const) ((s[k] as Schema[] | undefined) ?? []).forEach((v, i) => walk(v, `${where}.${k}${i}`));
  };
  for (const [p, ops] of Object.entries(d.paths))
    for (const [method, o] of Object.entries(ops)) {
      const name = `${method.toUpperCase()} ${p}`;
      walk(o.requestBody?.content['application/json']?.schema, `${name} body`);
      for (const param of o.parameters ?? []) walk(param.schema, `${name} ${param.in}.${param.name}`);
    }
  return found;
}

describe('NUL and unpaired surrogates: refused in every string, and every string’s schema says so', () => {
  it('every documented string input refuses NUL and lone surrogates, and still takes a paired one', () => {
    const strings = inputStrings(doc);
    assert.ok(strings.length > 80, `${strings.length} string inputs found`);
    const open: string[] = [];
    for (const { where, schema } of strings) {
      if (schema.enum || schema.const !== undefined) continue;
      for (const bad of ['a\u0000b', '\u0000', 'a\ud800b', 'a\udc00', '\ud800']) if (accepts(schema, bad)) open.push(`${where} takes ${JSON.stringify(bad)}`);
    }
    assert.deepEqual(open, []);
    // Free text still takes astral characters (a surrogate pair in UTF-16).
    assert.equal(accepts(at(bodyOf(doc, 'POST', '/v1/links/redeem'), 'newPassword'), 'pässwörd 😀 long enough'), true);
  });

  it('the server refuses them in every top-level body string of every route (400 naming the field)', async () => {
    let checked = 0;
    for (const [p, ops] of Object.entries(doc.paths))
      for (const [method, o] of Object.entries(ops)) {
        const body = o.requestBody?.content['application/json']?.schema;
        if (!body) continue;
        const props = new Map<string, Schema>();
        for (const variant of [body, ...(body.oneOf ?? body.anyOf ?? [])])
          for (const [k, v] of Object.entries(variant.properties ?? {})) if (v.type === 'string' && !v.enum && v.const === undefined) props.set(k, v);
        for (const field of props.keys())
          for (const bad of ['a\u0000b', 'a\ud800b']) {
            const r = await h.api(method.toUpperCase(), urlOf(p), { key: keyFor(p), body: { [field]: bad } });
            assert.equal(r.status, 400, `${method.toUpperCase()} ${p} ${field}=${JSON.stringify(bad)}: ${r.text}`);
            assert.equal(r.body.error.details.field, field, `${method.toUpperCase()} ${p}: ${r.text}`);
            checked++;
          }
      }
    assert.ok(checked > 40, `${checked} fields checked`);
  });

  it('and in every query and path parameter', async () => {
    let checked = 0;
    for (const [p, ops] of Object.entries(doc.paths))
      for (const [method, o] of Object.entries(ops))
        for (const param of o.parameters ?? []) {
          if (param.in !== 'query' && param.in !== 'path') continue;
          if (param.schema.type !== 'string' || param.schema.enum) continue;
          const url =
            param.in === 'path'
              ? urlOf(p.replace(`{${param.name}}`, 'a%00b'))
              : `${urlOf(p)}?${param.name === 'tenantId' ? '' : `tenantId=${tenantId}&`}${param.name}=a%00b`;
          const r = await h.api(method.toUpperCase(), url, { key: keyFor(p) });
          assert.equal(r.status, 400, `${method.toUpperCase()} ${url}: ${r.text}`);
          assert.equal(r.body.error.details.field, `${param.in === 'path' ? 'params' : 'query'}.${param.name}`, `${url}: ${r.text}`);
          checked++;
        }
    assert.ok(checked >= 15, `${checked} parameters checked`);
  });
});

describe('Tier 1 answers: between 1 and 10', () => {
  it('the document bounds the answers object (minProperties 1, maxProperties 10)', () => {
    const tier1 = (bodyOf(doc, 'POST', '/v1/recoveries/{id}/verifications').oneOf ?? []).find((v) => accepts(at(v, 'tier'), 1))!;
    assert.ok(tier1, 'a Tier 1 shape');
    const answers = at(tier1, 'answers');
    assert.equal(accepts(answers, {}), false, '{} documented as acceptable');
    assert.equal(accepts(answers, { a: '1' }), true);
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`q${i}`, 'x']));
    assert.equal(accepts(answers, eleven), false, '11 answers documented as acceptable');
  });

  it('the server refuses none and eleven (400 naming answers)', async () => {
    const url = '/v1/recoveries/rec_AAAAAAAAAAAAAAAA/verifications';
    refused(await h.api('POST', url, { key, body: { tier: 1, answers: {} } }), 'answers');
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`q${i}`, 'x']));
    refused(await h.api('POST', url, { key, body: { tier: 1, answers: eleven } }), 'answers');
  });
});

describe('tenantScope: exactly ["*"], or a list of tenant ids', () => {
  it('the document has the two shapes', () => {
    const scope = at(bodyOf(doc, 'POST', '/v1/admin/principals'), 'tenantScope');
    assert.equal(accepts(scope, ['*']), true);
    assert.equal(accepts(scope, ['acme', 'globex']), true);
    for (const bad of [['*', 'acme'], ['acme', '*'], ['*', '*'], []])
      assert.equal(accepts(scope, bad), false, `${JSON.stringify(bad)} documented as acceptable`);
  });

  it('the server refuses "*" with other entries (400 naming tenantScope)', async () => {
    const body = (tenantScope: string[]) => ({ name: uniq('p'), roles: ['agent'], tenantScope });
    refused(await h.api('POST', '/v1/admin/principals', { body: body(['*', tenantId]) }), 'tenantScope');
    refused(await h.api('POST', '/v1/admin/principals', { body: body([tenantId, '*']) }), 'tenantScope');
  });
});

describe('string lengths count characters, as JSON Schema does (an emoji is one, not two UTF-16 units)', () => {
  const emoji = (n: number) => '😀'.repeat(n);

  it('the document and the server agree on a name of 200 emoji (accepted) and 201 (refused)', async () => {
    const name = at(bodyOf(doc, 'POST', '/v1/admin/tenants'), 'name');
    assert.equal(name.maxLength, 200);
    assert.equal(accepts(name, emoji(200)), true);
    assert.equal(accepts(name, emoji(201)), false);
    const created = await h.api('POST', '/v1/admin/tenants', { body: { id: uniq('emo'), name: emoji(200), authMode: 'local' } });
    assert.equal(created.status, 201, created.text);
    refused(await h.api('POST', '/v1/admin/tenants', { body: { id: uniq('emo'), name: emoji(201), authMode: 'local' } }), 'name');
  });

  it('and on free strings without a character rule (a knowledge answer of 256 emoji)', async () => {
    const answer = at(bodyOf(doc, 'POST', '/v1/admin/tenants/{tenantId}/accounts'), 'accounts.[].knowledge.{}');
    assert.equal(accepts(answer, emoji(256)), true);
    assert.equal(accepts(answer, emoji(257)), false);
    const account = (knowledge: Record<string, string>) => ({ externalId: uniq('u'), authMethod: 'local', emails: [`${uniq('e')}@example.test`], knowledge });
    const ok = await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts: [account({ pet: emoji(256) })] } });
    assert.equal(ok.status, 200, ok.text);
    refused(await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts: [account({ pet: emoji(257) })] } }), 'accounts.0.knowledge.pet');
  });
});

describe('a principal with a deciding role names an email address', () => {
  const principal = (roles: string[], email?: string) => ({ name: uniq('p'), roles, tenantScope: [tenantId], ...(email ? { email } : {}) });

  it('the document requires email with approver, break_glass_approver or reviewer', () => {
    const body = bodyOf(doc, 'POST', '/v1/admin/principals');
    for (const role of ['approver', 'break_glass_approver', 'reviewer']) {
      assert.equal(accepts(body, principal(['agent', role])), false, `${role} without email documented as acceptable`);
      assert.equal(accepts(body, principal(['agent', role], 'a@example.test')), true);
    }
    assert.equal(accepts(body, principal(['agent'])), true, 'agent alone needs none');
  });

  it('the server refuses one without (400 naming email)', async () => {
    refused(await h.api('POST', '/v1/admin/principals', { body: principal(['reviewer']) }), 'email');
  });
});

describe("the codec's x-namespace header: this engine's namespace only", () => {
  it('the document names the one namespace, and the server refuses another (400 naming the header)', async () => {
    for (const name of ['encode', 'decode']) {
      const s = (op(doc, 'POST', `/codec/${name}`).parameters ?? []).find((p) => p.in === 'header' && p.name === 'x-namespace')?.schema;
      assert.ok(s, `POST /codec/${name} documents x-namespace`);
      assert.equal(accepts(s, h.config.temporal.namespace), true);
      assert.equal(accepts(s, 'someone-else'), false, 'another namespace documented as acceptable');
      const r = await h.api('POST', `/codec/${name}`, { key, body: { payloads: [] }, headers: { 'x-namespace': 'someone-else' } });
      refused(r, 'x-namespace');
    }
  });
});

const ROWS = ['standard', 'privileged', 'elevated'] as const;
const waitOf = (d: Doc, kind: string, row: string) => at(bodyOf(d, 'PUT', '/v1/admin/tenants/{tenantId}/policy'), `rules.${kind}.${row}.waitSeconds`);
const withWait = (kind: string, row: string, waitSeconds: number) => ({ rules: { [kind]: { [row]: { waitSeconds } } } });
const MAX_WAIT = 14 * 24 * 3600;

describe('policy waitSeconds: the bounds of the mode the engine runs in', () => {
  it('dev mode (this engine) documents 0 to 14 days in every row, and enforces exactly that', async () => {
    assert.equal(h.config.policyMode, 'dev');
    for (const kind of ['password_reset', 'mfa_reset'])
      for (const row of ROWS) {
        const s = waitOf(doc, kind, row);
        for (const ok of [0, 1, 60, 86400, MAX_WAIT]) assert.equal(accepts(s, ok), true, `${kind}.${row}: ${ok} documented as refused`);
        for (const bad of [-1, -9007199254740991, MAX_WAIT + 1, 1.5]) assert.equal(accepts(s, bad), false, `${kind}.${row}: ${bad} documented as acceptable`);
      }
    const put = (body: unknown) => h.api('PUT', `/v1/admin/tenants/${tenantId}/policy`, { key, body });
    assert.equal((await put(withWait('password_reset', 'privileged', 60))).status, 200, 'a dev wait of 60 s');
    refused(await put(withWait('password_reset', 'privileged', -1)), 'rules.password_reset.privileged.waitSeconds');
    refused(await put(withWait('mfa_reset', 'standard', MAX_WAIT + 1)), 'rules.mfa_reset.standard.waitSeconds');
  });

  it('production mode documents 0 or 1 to 14 days (standard rows), 1 to 14 days (others), and enforces exactly that', async () => {
    const prod = await startHarness({ env: { POLICY_MODE: 'production' }, inProcessWorker: false });
    try {
      assert.equal(prod.config.policyMode, 'production');
      const prodDoc = (await prod.api('GET', '/openapi.json', { key: null })).body as Doc;
      for (const kind of ['password_reset', 'mfa_reset'])
        for (const row of ROWS) {
          const s = waitOf(prodDoc, kind, row);
          const okValues = row === 'standard' ? [0, 86400, MAX_WAIT] : [86400, MAX_WAIT];
          const badValues = row === 'standard' ? [-1, 1, 86399, MAX_WAIT + 1] : [-1, 0, 1, 86399, MAX_WAIT + 1];
          for (const ok of okValues) assert.equal(accepts(s, ok), true, `${kind}.${row}: ${ok} documented as refused`);
          for (const bad of badValues) assert.equal(accepts(s, bad), false, `${kind}.${row}: ${bad} documented as acceptable`);
        }
      const t = await seedTenant(prod, 'local');
      const put = (body: unknown) => prod.api('PUT', `/v1/admin/tenants/${t}/policy`, { body });
      assert.equal((await put(withWait('password_reset', 'standard', 0))).status, 200);
      assert.equal((await put(withWait('password_reset', 'privileged', 86400))).status, 200);
      refused(await put(withWait('password_reset', 'standard', 3600)), 'rules.password_reset.standard.waitSeconds');
      refused(await put(withWait('mfa_reset', 'elevated', 0)), 'rules.mfa_reset.elevated.waitSeconds');
    } finally {
      await prod.close();
    }
  });
});

describe('email addresses: a local part of at most 64 characters, wherever one is accepted', () => {
  const local = (n: number) => `${'a'.repeat(n)}@example.test`;
  const EMAILS: [string, string, string][] = [
    ['POST', '/v1/admin/tenants', 'securityContacts.[]'],
    ['POST', '/v1/admin/tenants/{tenantId}/accounts', 'accounts.[].emails.[]'],
    ['PATCH', '/v1/admin/tenants/{tenantId}/accounts/{accountId}', 'emails.[]'],
    ['POST', '/v1/admin/principals', 'email'],
  ];

  it('every email field documents it', () => {
    for (const [method, p, field] of EMAILS) {
      const s = at(bodyOf(doc, method, p), field);
      assert.equal(accepts(s, local(64)), true, `${method} ${p} ${field}: 64 documented as refused`);
      assert.equal(accepts(s, local(65)), false, `${method} ${p} ${field}: 65 documented as acceptable`);
    }
  });

  it('the server refuses a 65-character local part in each (400 naming the field)', async () => {
    refused(
      await h.api('POST', '/v1/admin/tenants', { body: { id: uniq('em'), name: 'E', authMode: 'local', securityContacts: [local(65)] } }),
      'securityContacts.0',
    );
    const account = { externalId: uniq('u'), authMethod: 'local', emails: [local(65)] };
    refused(await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts: [account] } }), 'accounts.0.emails.0');
    const accountId = await seedAccount(h, tenantId);
    refused(await h.api('PATCH', `/v1/admin/tenants/${tenantId}/accounts/${accountId}`, { body: { reason: 'new address', emails: [local(65)] } }), 'emails.0');
    refused(await h.api('POST', '/v1/admin/principals', { body: { name: uniq('p'), roles: ['auditor'], tenantScope: [tenantId], email: local(65) } }), 'email');
    // 64 is still fine.
    const ok = await h.api('POST', '/v1/admin/tenants', { body: { id: uniq('em'), name: 'E', authMode: 'local', securityContacts: [local(64)] } });
    assert.equal(ok.status, 201, ok.text);
  });
});

describe('deep nesting is refused with 400 at every body size limit', () => {
  const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  /** Each limit, with a route it applies to. */
  const LIMITS: [string, string, number, string | null][] = [
    ['the default 256 KB (a public route)', '/v1/links/redeem', 256 * 1024, null],
    ['the account import’s 5 MB', '/v1/admin/tenants/{tenantId}/accounts', 5 * 1024 * 1024, 'key'],
    ['the codec’s 8 MB', '/codec/decode', 8 * 1024 * 1024, 'key'],
  ];

  for (const [what, p, limit, auth] of LIMITS)
    it(`${what}: objects and arrays filling the limit get 400 nesting_too_deep; one byte more is 413`, async () => {
      const send = (raw: string) =>
        h.api('POST', urlOf(p), { key: auth ? key : null, raw, headers: { 'content-type': 'application/json' }, timeoutMs: 60_000 });
      const levels = Math.floor((limit - 1) / 6);
      for (const raw of [objects(levels), arrays(Math.floor(limit / 2))]) {
        assert.ok(raw.length <= limit, `${raw.length} bytes`);
        const r = await send(raw);
        assert.equal(r.status, 400, `${p} ${raw.slice(0, 10)}... (${raw.length} bytes): ${r.text.slice(0, 300)}`);
        assert.equal(r.body.error.code, 'nesting_too_deep', r.text.slice(0, 300));
      }
      const over = await send(arrays(Math.floor(limit / 2)) + ' ');
      assert.equal(over.status, 413, `the limit of ${p} is ${limit} bytes: ${over.text.slice(0, 300)}`);
    });
});

/** Every pattern in the document, once. */
function patterns(d: Doc): string[] {
  const out = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'pattern' && typeof x === 'string') out.add(x);
        else walk(x);
      }
  };
  walk(d.paths);
  return [...out];
}

/** Inputs that make an overlapping-class pattern backtrack: long runs that fail at the very end. */
const N = 20_000;
const HOSTILE = [
  ' '.repeat(N) + '\u0001',
  'a' + ' '.repeat(N) + '\u0001',
  'a '.repeat(N) + '\u0001',
  '\t'.repeat(N) + 'a\u0000',
  'a.'.repeat(N) + '@',
  'a'.repeat(N) + '\u0000',
];
/** Per pattern: a backtracking one may run for hours, so each runs in a child process with a time limit. */
const LIMIT_MS = 20_000;

/** Runs `script` in `exe` on each pattern (JSON on stdin); the names of the patterns that are slow or do not finish. */
function slowPatterns(exe: string, args: string[]): string[] {
  const slow: string[] = [];
  for (const pattern of patterns(doc)) {
    const r = spawnSync(exe, args, { input: JSON.stringify({ pattern, inputs: HOSTILE }), encoding: 'utf8', timeout: LIMIT_MS });
    const name = `${pattern.slice(0, 100)}...`;
    if (r.error || r.signal) slow.push(`${name}: not done within ${LIMIT_MS / 1000} s`);
    else if (r.status !== 0) slow.push(`${name}: ${r.stderr.trim().split('\n').pop()}`);
    else slow.push(...(JSON.parse(r.stdout) as string[]).map((m) => `${name}: ${m}`));
  }
  return slow;
}

describe('the documented patterns run in linear time', () => {
  it('in JavaScript, with and without the u flag', () => {
    const script = `
      const { pattern, inputs } = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      const out = [];
      for (const flags of ['u', ''])
        for (const s of inputs) {
          const t0 = performance.now();
          new RegExp(pattern, flags).test(s);
          const ms = performance.now() - t0;
          if (ms > 200) out.push(\`/\${flags} on \${JSON.stringify(s.slice(0, 6))}...: \${ms.toFixed(0)} ms\`);
        }
      console.log(JSON.stringify(out));`;
    assert.deepEqual(slowPatterns(process.execPath, ['-e', script]), []);
  });

  it("in Python's re, which schemathesis generates and checks with", () => {
    assert.ok(process.env.SCHEMATHESIS_PATH, 'SCHEMATHESIS_PATH (npm test provides it)');
    const python = path.join(path.dirname(process.env.SCHEMATHESIS_PATH), 'python3');
    const script = [
      'import json, re, sys, time',
      'd = json.load(sys.stdin)',
      "r = re.compile(d['pattern'])",
      'out = []',
      "for s in d['inputs']:",
      '    t0 = time.perf_counter(); r.search(s); ms = (time.perf_counter() - t0) * 1000',
      "    if ms > 200: out.append('on %r...: %d ms' % (s[:6], ms))",
      'print(json.dumps(out))',
    ].join('\n');
    assert.deepEqual(slowPatterns(python, ['-c', script]), []);
  });
});
