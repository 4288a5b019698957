// Invariant 9 (SPEC.md section 1): bad input on every route gets a clear error. Over real HTTP, each
// route is sent malformed bodies, wrong types, out-of-range values, unknown fields, wrong content
// types, invalid path/query parameters, invalid Idempotency-Key headers and bad credentials; every
// answer must be a 4xx (400, or 401/413/415 where HTTP demands) with
// `{ error: { code, message, details: { field } } }` naming the offending field, never a 500 and
// never a stack trace, and must leave every table as it was (no partial write). Then fast-check
// throws random and mutated JSON at the busiest POST routes and asserts status < 500 and the shape.
// A request that gets no answer within REQUEST_TIMEOUT_MS fails rather than hanging the suite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { startHarness, type ApiResponse, type Harness } from '../../testkit/engine';
import { rowCounts } from '../../testkit/inspect';
import { tokenFrom } from '../../testkit/mail';
import { uniq, KNOWLEDGE, nextIp, recoveryBody, seedAccount, seedPrincipal, seedTenant, setPolicy } from '../../testkit/seed';
import { until } from '../../testkit/wait';
import { PASSWORD_MAX } from '../../domain/password';
import { PRINCIPAL_ROLES } from '../../domain/types';

const STRONG_PASSWORD = 'lantern-otter-carries-42-maps';

let h: Harness;

/** What the cases point at; filled in before() and read lazily by each case. */
interface Fixture {
  tenantId: string;
  accountId: string;
  agentKey: string;
  /** The product's backend: the only key that reports login events. */
  ingestKey: string;
  /** A live recovery in awaiting_completion, and its live emailed link token. */
  recoveryId: string;
  token: string;
  /** A live recovery no case is meant to touch beyond validation (target of a cancel probe). */
  spareRecoveryId: string;
  /** A tenant with a designated break-glass account, and that account. */
  bgTenantId: string;
  bgAccount: string;
  /** A break-glass grant awaiting approval, requested with agentKey (so agentKey is its requester). */
  grantId: string;
  /** Another grant awaiting approval, the target of revoke probes only. */
  spareGrantId: string;
}
const f = {} as Fixture;

// ---------------------------------------------------------------------------------------------
// Helpers

interface Req {
  method: string;
  path: string;
  /** undefined: the admin key; null: no Authorization header. */
  key?: string | null;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

interface Expect {
  status: number | number[];
  code?: string | string[];
  /** details.field; several allowed values when HTTP leaves a choice (e.g. 400 body vs 415 content-type). */
  field?: string | string[];
  /** The attempt counts against a rate limit: its `rate_events` slots are the one write allowed. */
  counted?: boolean;
}

const oneOf = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function show(req: Req): string {
  const body = req.raw !== undefined ? req.raw : req.body !== undefined ? JSON.stringify(req.body) : '';
  const hdrs = req.headers ? ` ${JSON.stringify(req.headers)}` : '';
  const auth = req.key === null ? ' (no auth)' : '';
  return `${req.method} ${req.path}${auth}${hdrs} ${body.length > 300 ? `${body.slice(0, 300)}... (${body.length} chars)` : body}`;
}

function showRes(r: ApiResponse): string {
  return `${r.status} ${r.text.length > 500 ? r.text.slice(0, 500) + '...' : r.text}`;
}

const REQUEST_TIMEOUT_MS = 12_000;

/** Like h.api, but a request that gets no answer within REQUEST_TIMEOUT_MS fails instead of hanging. */
async function send(req: Req): Promise<ApiResponse> {
  try {
    return await h.http.call(req.method, req.path, { key: req.key, body: req.body, raw: req.raw, headers: req.headers, timeoutMs: REQUEST_TIMEOUT_MS });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') assert.fail(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s\n  request:  ${show(req)}`);
    throw err;
  }
}

const STACK = /\n\s+at\s|\bat [\w.<>]+ \(|node_modules|\.ts:\d+|\.js:\d+/;

/** The one error shape: status < 500, JSON `{error:{code,message,details?}}`, no stack trace. */
function assertErrorShape(req: Req, r: ApiResponse) {
  const ctx = `\n  request:  ${show(req)}\n  response: ${showRes(r)}`;
  assert.ok(r.status < 500, `server error${ctx}`);
  assert.ok(r.status >= 400, `expected a 4xx${ctx}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `error is not JSON${ctx}`);
  assert.ok(r.body && typeof r.body === 'object' && r.body.error && typeof r.body.error === 'object', `no error object${ctx}`);
  assert.deepEqual(
    Object.keys(r.body).filter((k) => k !== 'error'),
    [],
    `extra top-level keys${ctx}`,
  );
  assert.equal(typeof r.body.error.code, 'string', `error.code is not a string${ctx}`);
  assert.match(r.body.error.code, /^[a-z][a-z0-9_]*$/, `error.code is not machine-readable${ctx}`);
  assert.equal(typeof r.body.error.message, 'string', `error.message is not a string${ctx}`);
  assert.ok(r.body.error.message.length > 0, `empty error.message${ctx}`);
  assert.equal(r.body.error.stack, undefined, `stack in the error${ctx}`);
  assert.doesNotMatch(r.text, STACK, `looks like a stack trace${ctx}`);
}

/** Every way the response misses the expectation (empty when it meets it). */
function problems(r: ApiResponse, exp: Expect): string[] {
  const out: string[] = [];
  if (!oneOf(exp.status).includes(r.status)) out.push(`status ${r.status}, expected ${oneOf(exp.status).join('|')}`);
  if (exp.code !== undefined && !oneOf(exp.code).includes(r.body?.error?.code))
    out.push(`error.code ${JSON.stringify(r.body?.error?.code)}, expected ${oneOf(exp.code).join('|')}`);
  if (exp.field !== undefined) {
    const got = r.body?.error?.details?.field;
    if (!oneOf(exp.field).includes(got)) out.push(`details.field ${JSON.stringify(got)}, expected ${oneOf(exp.field).join('|')}`);
    else if (typeof r.body?.error?.message === 'string' && !r.body.error.message.includes(String(got).split('.').pop()!))
      out.push('error.message does not name the field');
  }
  return out;
}

function diff(a: Record<string, number>, b: Record<string, number>): string[] {
  return Object.keys(b)
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k} ${a[k]} -> ${b[k]}`);
}

/** The request gets the expected error, the error shape, and leaves every table as it was. */
async function expectNoWrite(req: Req, exp: Expect) {
  const before = await rowCounts(h.db);
  const r = await send(req);
  const afterCounts = await rowCounts(h.db);
  const bad = problems(r, exp);
  const written = diff(before, afterCounts).filter((w) => !(exp.counted && w.startsWith('rate_events ')));
  if (written.length) bad.push(`rows written: ${written.join(', ')}`);
  assert.deepEqual(bad, [], `${bad.join('; ')}\n  request:  ${show(req)}\n  response: ${showRes(r)}`);
  assertErrorShape(req, r);
}

// ---------------------------------------------------------------------------------------------
// Case tables. A case is [name, request (built lazily from the fixture), expectation].

type Case = [string, (f: Fixture) => Req, Expect];

const json = { 'content-type': 'application/json' };
const BAD = { status: 400, code: 'invalid_field' };
const field = (name: string | string[]): Expect => ({ ...BAD, field: name });
const LONG = (n: number) => 'a'.repeat(n);

/** Generic body-level cases every JSON route must survive. */
function bodyCases(
  method: string,
  path: (f: Fixture) => string,
  valid: (f: Fixture) => Record<string, unknown>,
  o: { key?: (f: Fixture) => string | null; idempotency?: boolean; bodyLimit?: number } = {},
): Case[] {
  const k = (fx: Fixture) => (o.key ? o.key(fx) : undefined);
  const cases: Case[] = [
    [
      'malformed JSON',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: '{"id": "x",', headers: json }),
      { status: 400, code: 'malformed_body', field: 'body' },
    ],
    [
      'trailing garbage after JSON',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: JSON.stringify(valid(fx)) + ' }', headers: json }),
      { status: 400, code: 'malformed_body', field: 'body' },
    ],
    [
      'empty body with a JSON content-type',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: '', headers: json }),
      { status: 400, code: 'malformed_body', field: 'body' },
    ],
    ['no body at all', (fx) => ({ method, path: path(fx), key: k(fx) }), field('body')],
    ['JSON null', (fx) => ({ method, path: path(fx), key: k(fx), raw: 'null', headers: json }), { status: 400, field: 'body' }],
    ['JSON array', (fx) => ({ method, path: path(fx), key: k(fx), body: [valid(fx)] }), field('body')],
    ['JSON string', (fx) => ({ method, path: path(fx), key: k(fx), body: 'hello' }), field('body')],
    ['JSON number', (fx) => ({ method, path: path(fx), key: k(fx), body: 42 }), field('body')],
    [
      'prototype poisoning (__proto__ key)',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: `{"__proto__":{"isAdmin":true},${JSON.stringify(valid(fx)).slice(1)}`, headers: json }),
      { status: 400, code: 'malformed_body', field: 'body' },
    ],
    ['unknown extra field', (fx) => ({ method, path: path(fx), key: k(fx), body: { ...valid(fx), extraField: 1 } }), field('extraField')],
    [
      'content-type application/xml',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: '<tenant/>', headers: { 'content-type': 'application/xml' } }),
      { status: 415, code: 'unsupported_media_type', field: 'content-type' },
    ],
    [
      'content-type form-urlencoded',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      { status: 415, code: 'unsupported_media_type', field: 'content-type' },
    ],
    [
      'content-type text/plain carrying valid JSON',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: JSON.stringify(valid(fx)), headers: { 'content-type': 'text/plain' } }),
      { status: 415, code: 'unsupported_media_type', field: 'content-type' },
    ],
    [
      'garbage content-type',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: JSON.stringify(valid(fx)), headers: { 'content-type': '%%%/;;;' } }),
      { status: [400, 415], field: ['body', 'content-type'] },
    ],
    [
      'body over the size limit',
      (fx) => ({ method, path: path(fx), key: k(fx), raw: JSON.stringify({ ...valid(fx), pad: LONG((o.bodyLimit ?? 256 * 1024) + 1024) }), headers: json }),
      { status: 413, code: 'body_too_large', field: 'body' },
    ],
  ];
  if (o.idempotency !== false && method === 'POST') {
    for (const [name, key] of [
      ['too short', 'abc'],
      ['disallowed characters', 'key with spaces!'],
      ['too long', 'k'.repeat(129)],
      ['with a percent sign', 'key-%41%42-12345'],
    ] as const) {
      cases.push([
        `Idempotency-Key ${name} (valid body otherwise)`,
        (fx) => ({ method, path: path(fx), key: k(fx), body: valid(fx), headers: { 'idempotency-key': key } }),
        { status: 400, code: 'invalid_field', field: 'idempotency-key' },
      ]);
    }
  }
  return cases;
}

/** Bad credentials on an authenticated route. */
function authCases(method: string, path: (f: Fixture) => string, body?: (f: Fixture) => unknown): Case[] {
  const U = { status: 401, code: 'unauthenticated', field: 'authorization' };
  const b = (fx: Fixture) => (body ? body(fx) : undefined);
  return [
    ['no Authorization header', (fx) => ({ method, path: path(fx), key: null, body: b(fx) }), U],
    ['Basic instead of Bearer', (fx) => ({ method, path: path(fx), key: null, body: b(fx), headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }), U],
    ['Bearer with a too-short key', (fx) => ({ method, path: path(fx), key: null, body: b(fx), headers: { authorization: 'Bearer abc' } }), U],
    ['Bearer with no key', (fx) => ({ method, path: path(fx), key: null, body: b(fx), headers: { authorization: 'Bearer ' } }), U],
    ['lower-case scheme and junk', (fx) => ({ method, path: path(fx), key: null, body: b(fx), headers: { authorization: 'bearer "><script>' } }), U],
    ['well-formed but unknown key', (fx) => ({ method, path: path(fx), body: b(fx), key: `rk_${crypto.randomBytes(32).toString('base64url')}` }), U],
    ['two keys', (fx) => ({ method, path: path(fx), key: null, body: b(fx), headers: { authorization: `Bearer ${h.adminKey} Bearer ${h.adminKey}` } }), U],
  ];
}

function runCases(cases: Case[]) {
  for (const [name, req, exp] of cases) {
    it(name, async () => {
      await expectNoWrite(req(f), exp);
    });
  }
}

// Valid bodies, each a fresh value so a case that wrongly succeeds cannot break the next one.
const validTenant = () => ({ id: uniq('bt'), name: 'Bad Input Co', authMode: 'local', securityContacts: ['sec@bad.test'] });
const validAccount = () => ({ externalId: uniq('ba'), authMethod: 'local', emails: ['x@bad.test'] });
const validImport = () => ({ accounts: [validAccount()] });
const validPrincipal = (fx: Fixture) => ({ name: 'bad-input-agent', roles: ['agent'], tenantScope: [fx.tenantId] });
const validRecovery = (fx: Fixture) => recoveryBody(fx.tenantId, uniq('nobody'));
const validLogin = (fx: Fixture) => ({ tenantId: fx.tenantId, accountId: fx.accountId, ip: '203.0.113.7', success: true });
// Names an account that does not exist: should a bad case wrongly pass validation it gets a 404, not a grant.
const validGrant = (fx: Fixture) => ({
  tenantId: fx.bgTenantId,
  target: { accountId: uniq('nobody') },
  justification: 'prod database locked after failed migration',
  ticketRef: 'INC-4242',
  durationMinutes: 15,
});
const validDirectory = (fx: Fixture) => ({
  tenantId: fx.bgTenantId,
  accountId: fx.bgAccount,
  credential: `bgc_t1.${crypto.randomBytes(32).toString('base64url')}`,
});

// ---------------------------------------------------------------------------------------------

before(async () => {
  h = await startHarness();
  f.tenantId = await seedTenant(h, 'local');
  f.accountId = await seedAccount(h, f.tenantId);
  const spareAccount = await seedAccount(h, f.tenantId);
  f.agentKey = (await seedPrincipal(h, ['agent'], ['*'])).key;
  f.ingestKey = (await seedPrincipal(h, ['ingestion'], ['*'])).key;
  const link = await recoveryWithLink(f.accountId);
  f.recoveryId = link.id;
  f.token = link.token;
  const spare = await h.api('POST', '/v1/recoveries', { key: f.agentKey, body: recoveryBody(f.tenantId, spareAccount) });
  assert.equal(spare.status, 202, spare.text);
  f.spareRecoveryId = spare.body.id;
  // Emergency access: a tenant with a designated break-glass account and two grants awaiting approval.
  f.bgAccount = uniq('bg-admin');
  f.bgTenantId = uniq('t');
  const bgTenant = await h.api('POST', '/v1/admin/tenants', {
    body: {
      id: f.bgTenantId,
      name: `Tenant ${f.bgTenantId}`,
      authMode: 'local',
      securityContacts: [`security@${f.bgTenantId}.test`],
      breakGlassAccount: f.bgAccount,
    },
  });
  assert.equal(bgTenant.status, 201, bgTenant.text);
  await seedAccount(h, f.bgTenantId, { externalId: f.bgAccount, role: 'admin' });
  const spareBgAccount = await seedAccount(h, f.bgTenantId, { role: 'admin' });
  const grantBody = { tenantId: f.bgTenantId, justification: 'prod database locked after failed migration', ticketRef: 'INC-4242', durationMinutes: 15 };
  const g1 = await h.api('POST', '/v1/break-glass', { key: f.agentKey, body: { ...grantBody, target: { designated: true } } });
  assert.equal(g1.status, 202, g1.text);
  f.grantId = g1.body.id;
  const g2 = await h.api('POST', '/v1/break-glass', { key: f.agentKey, body: { ...grantBody, target: { accountId: spareBgAccount } } });
  assert.equal(g2.status, 202, g2.text);
  f.spareGrantId = g2.body.id;
  for (const id of [f.grantId, f.spareGrantId]) {
    await until('grant awaiting approval', async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: f.agentKey })).body.state === 'awaiting_approval');
  }
  // Let the workflows settle so background writes do not race the row counts.
  await until('spare verifying', async () => (await h.api('GET', `/v1/recoveries/${f.spareRecoveryId}`, { key: f.agentKey })).body.state === 'verifying');
  await new Promise((r) => setTimeout(r, 500));
  // The grants notify their approvers after entering awaiting_approval: wait until nothing moves.
  await until('background writes to settle', async () => {
    const a = await rowCounts(h.db);
    await new Promise((r) => setTimeout(r, 300));
    return diff(a, await rowCounts(h.db)).length === 0;
  });
});

after(async () => {
  await h?.close();
});

/** A recovery taken to awaiting_completion; returns its id and live link token. */
async function recoveryWithLink(accountId: string): Promise<{ id: string; token: string }> {
  const created = await h.api('POST', '/v1/recoveries', { key: f.agentKey, body: recoveryBody(f.tenantId, accountId) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: f.agentKey, body: { tier: 1, answers: KNOWLEDGE } });
  assert.equal(v.status, 200, v.text);
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(`${accountId}@${f.tenantId}.test`));
  await until('awaiting completion', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: f.agentKey })).body.state === 'awaiting_completion');
  return { id, token: tokenFrom(mail) };
}

// ---------------------------------------------------------------------------------------------

describe('POST /v1/admin/tenants', () => {
  const P = () => '/v1/admin/tenants';
  const post = (body: unknown) => (): Req => ({ method: 'POST', path: P(), body });
  runCases([
    ...authCases('POST', P, validTenant),
    ...bodyCases('POST', P, validTenant),
    ['missing id', post({ ...validTenant(), id: undefined }), field('id')],
    ['id of the wrong type', post({ ...validTenant(), id: 123 }), field('id')],
    ['id in upper case', post({ ...validTenant(), id: 'UPPER-case' }), field('id')],
    ['id too long', post({ ...validTenant(), id: 't' + LONG(63) }), field('id')],
    ['id with a NUL byte', post({ ...validTenant(), id: 'ab\u0000c' }), field('id')],
    ['missing name', post({ ...validTenant(), name: undefined }), field('name')],
    ['blank name', post({ ...validTenant(), name: '   ' }), field('name')],
    ['name too long', post({ ...validTenant(), name: LONG(201) }), field('name')],
    ['name of the wrong type', post({ ...validTenant(), name: { first: 'x' } }), field('name')],
    ['name with a NUL byte', post({ ...validTenant(), name: 'Evil\u0000Corp' }), field('name')],
    ['name with a lone surrogate', post({ ...validTenant(), name: 'Evil\ud800Corp' }), field('name')],
    ['unknown authMode', post({ ...validTenant(), authMode: 'ldap' }), field('authMode')],
    ['missing authMode', post({ ...validTenant(), authMode: undefined }), field('authMode')],
    ['securityContacts not an array', post({ ...validTenant(), securityContacts: 'sec@bad.test' }), field('securityContacts')],
    ['securityContacts with a non-email', post({ ...validTenant(), securityContacts: ['not-an-email'] }), field('securityContacts.0')],
    [
      'too many securityContacts',
      post({ ...validTenant(), securityContacts: Array.from({ length: 21 }, (_, i) => `s${i}@bad.test`) }),
      field('securityContacts'),
    ],
  ]);
});

describe('POST /v1/admin/tenants/:tenantId/accounts', () => {
  const P = (fx: Fixture) => `/v1/admin/tenants/${fx.tenantId}/accounts`;
  const post =
    (accounts: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), body: { accounts } });
  runCases([
    ...authCases('POST', P, validImport),
    ...bodyCases('POST', P, validImport, { bodyLimit: 5 * 1024 * 1024 }),
    ['invalid tenantId path param', () => ({ method: 'POST', path: '/v1/admin/tenants/NOT_A_TENANT/accounts', body: validImport() }), field('params.tenantId')],
    [
      'tenantId path param with an encoded slash',
      () => ({ method: 'POST', path: '/v1/admin/tenants/a%2Fb/accounts', body: validImport() }),
      field('params.tenantId'),
    ],
    ['missing accounts', (fx) => ({ method: 'POST', path: P(fx), body: {} }), field('accounts')],
    ['accounts not an array', post({ externalId: 'x' }), field('accounts')],
    ['empty accounts', post([]), field('accounts')],
    ['missing externalId', post([{ ...validAccount(), externalId: undefined }]), field('accounts.0.externalId')],
    ['externalId with a space', post([{ ...validAccount(), externalId: 'has space' }]), field('accounts.0.externalId')],
    ['externalId too long', post([{ ...validAccount(), externalId: LONG(129) }]), field('accounts.0.externalId')],
    ['missing authMethod', post([{ ...validAccount(), authMethod: undefined }]), field('accounts.0.authMethod')],
    ['unknown role', post([{ ...validAccount(), role: 'god' }]), field('accounts.0.role')],
    ['no emails', post([{ ...validAccount(), emails: [] }]), field('accounts.0.emails')],
    ['a non-email', post([{ ...validAccount(), emails: ['nope'] }]), field('accounts.0.emails.0')],
    ['knowledge answer of the wrong type', post([{ ...validAccount(), knowledge: { card_last4: 4242 } }]), field('accounts.0.knowledge.card_last4')],
    [
      'knowledge with an invalid name',
      post([{ ...validAccount(), knowledge: { 'Card Last4': '4242' } }]),
      field(['accounts.0.knowledge.Card Last4', 'accounts.0.knowledge']),
    ],
    ['password of the wrong type', post([{ ...validAccount(), password: 12345678 }]), field('accounts.0.password')],
    ['password too long', post([{ ...validAccount(), password: LONG(PASSWORD_MAX + 1) }]), field('accounts.0.password')],
    ['unknown MFA factor type', post([{ ...validAccount(), mfaFactors: [{ type: 'yubikey' }] }]), field('accounts.0.mfaFactors.0.type')],
    ['unknown field in an account', post([{ ...validAccount(), isAdmin: true }]), field('accounts.0.isAdmin')],
    ['second account invalid', post([validAccount(), { ...validAccount(), emails: 'x' }]), field('accounts.1.emails')],
    ['displayName with a NUL byte', post([{ ...validAccount(), displayName: 'Ev\u0000e' }]), field('accounts.0.displayName')],
  ]);
});

describe('PATCH /v1/admin/tenants/:tenantId/accounts/:accountId', () => {
  const P = (fx: Fixture) => `/v1/admin/tenants/${fx.tenantId}/accounts/${fx.accountId}`;
  const valid = () => ({ reason: 'HR ticket 12', role: 'standard' });
  const patch =
    (over: Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'PATCH', path: P(fx), body: { ...valid(), ...over } });
  runCases([
    ...authCases('PATCH', P, valid),
    ...bodyCases('PATCH', P, valid),
    [
      'invalid accountId path param',
      (fx) => ({ method: 'PATCH', path: `/v1/admin/tenants/${fx.tenantId}/accounts/has%20space`, body: valid() }),
      field('params.accountId'),
    ],
    ['missing reason', patch({ reason: undefined }), field('reason')],
    ['blank reason', patch({ reason: '   ' }), field('reason')],
    ['nothing to change', (fx) => ({ method: 'PATCH', path: P(fx), body: { reason: 'nothing' } }), field('emails')],
    ['a password', patch({ password: STRONG_PASSWORD }), field('password')],
    ['a sign-in method', patch({ authMethod: 'local' }), field('authMethod')],
    ['MFA factors', patch({ mfaFactors: [{ type: 'totp' }] }), field('mfaFactors')],
    ['no emails', patch({ emails: [] }), field('emails')],
    ['a non-email', patch({ emails: ['nope'] }), field('emails.0')],
    ['an address twice', patch({ emails: ['a@bad.test', 'A@bad.test'] }), field('emails')],
    ['unknown role', patch({ role: 'god' }), field('role')],
    ['knowledge answer of the wrong type', patch({ knowledge: { card_last4: 4242 } }), field('knowledge.card_last4')],
  ]);
  it('an account that does not exist is a 404 naming accountId', async () => {
    await expectNoWrite(((fx) => ({ method: 'PATCH', path: `/v1/admin/tenants/${fx.tenantId}/accounts/no-such-account`, body: valid() }))(f), {
      status: 404,
      code: 'account_not_found',
      field: 'accountId',
    });
  });
});

describe('POST /v1/admin/principals', () => {
  const P = () => '/v1/admin/principals';
  const post =
    (over: Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(), body: { ...validPrincipal(fx), ...over } });
  runCases([
    ...authCases('POST', P, validPrincipal),
    ...bodyCases('POST', P, validPrincipal),
    ['missing name', post({ name: undefined }), field('name')],
    ['blank name', post({ name: '' }), field('name')],
    ['name with a NUL byte', post({ name: 'ag\u0000ent' }), field('name')],
    ['roles not an array', post({ roles: 'agent' }), field('roles')],
    ['no roles', post({ roles: [] }), field('roles')],
    ['unknown role', post({ roles: ['root'] }), field('roles.0')],
    ['too many roles', post({ roles: Array<string>(PRINCIPAL_ROLES.length + 1).fill('agent') }), field('roles')],
    ['empty tenantScope', post({ tenantScope: [] }), field('tenantScope')],
    ['invalid tenant id in tenantScope', post({ tenantScope: ['NOPE!'] }), field('tenantScope.0')],
    [
      '"*" not alone in tenantScope',
      (fx) => ({ method: 'POST', path: P(), body: { ...validPrincipal(fx), tenantScope: ['*', fx.tenantId] } }),
      field('tenantScope'),
    ],
    ['tenantScope naming a missing tenant', post({ tenantScope: ['no-such-tenant-xyz'] }), { status: 400, code: 'tenant_not_found', field: 'tenantScope' }],
    [
      'account missing accountId',
      (fx) => ({ method: 'POST', path: P(), body: { ...validPrincipal(fx), account: { tenantId: fx.tenantId } } }),
      field('account.accountId'),
    ],
    ['account of the wrong type', post({ account: 'me' }), field('account')],
  ]);
});

describe('PUT and GET /v1/admin/tenants/:tenantId/policy', () => {
  const P = (fx: Fixture) => `/v1/admin/tenants/${fx.tenantId}/policy`;
  const put =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'PUT', path: P(fx), body });
  runCases([
    ...authCases('PUT', P, () => ({})).map(([n, r, e]): Case => [`PUT: ${n}`, r, e]),
    ...authCases('GET', P).map(([n, r, e]): Case => [`GET: ${n}`, r, e]),
    ...bodyCases('PUT', P, () => ({ tokenTtlSeconds: 600 })).map(([n, r, e]): Case => [`PUT: ${n}`, r, e]),
    ['PUT: invalid tenantId path param', () => ({ method: 'PUT', path: '/v1/admin/tenants/Bad_Tenant/policy', body: {} }), field('params.tenantId')],
    ['GET: invalid tenantId path param', () => ({ method: 'GET', path: '/v1/admin/tenants/Bad_Tenant/policy' }), field('params.tenantId')],
    ['GET: one-character tenantId', () => ({ method: 'GET', path: '/v1/admin/tenants/a/policy' }), field('params.tenantId')],
    ['GET: tenantId with an encoded NUL', () => ({ method: 'GET', path: '/v1/admin/tenants/ab%00cd/policy' }), field('params.tenantId')],
    ['GET: tenantId over 63 characters', () => ({ method: 'GET', path: `/v1/admin/tenants/${'t'.repeat(64)}/policy` }), field('params.tenantId')],
    ['PUT: tokenTtlSeconds below range', put({ tokenTtlSeconds: 0 }), field('tokenTtlSeconds')],
    ['PUT: tokenTtlSeconds above range', put({ tokenTtlSeconds: 3601 }), field('tokenTtlSeconds')],
    ['PUT: tokenTtlSeconds as a string', put({ tokenTtlSeconds: '900' }), field('tokenTtlSeconds')],
    ['PUT: tokenTtlSeconds not an integer', put({ tokenTtlSeconds: 900.5 }), field('tokenTtlSeconds')],
    ['PUT: maxFailedVerifications too high', put({ maxFailedVerifications: 11 }), field('maxFailedVerifications')],
    ['PUT: rateLimits.perIpPerHour zero', put({ rateLimits: { perIpPerHour: 0 } }), field('rateLimits.perIpPerHour')],
    ['PUT: rateLimits not an object', put({ rateLimits: 5 }), field('rateLimits')],
    ['PUT: approvals above 5', put({ rules: { password_reset: { standard: { approvals: 6 } } } }), field('rules.password_reset.standard.approvals')],
    ['PUT: negative waitSeconds', put({ rules: { mfa_reset: { privileged: { waitSeconds: -1 } } } }), field('rules.mfa_reset.privileged.waitSeconds')],
    [
      'PUT: waitSeconds above 14 days',
      put({ rules: { mfa_reset: { privileged: { waitSeconds: 14 * 24 * 3600 + 1 } } } }),
      field('rules.mfa_reset.privileged.waitSeconds'),
    ],
    ['PUT: unknown recovery kind in rules', put({ rules: { sso_bypass: {} } }), field('rules.sso_bypass')],
    ['PUT: unknown risk row in rules', put({ rules: { password_reset: { vip: {} } } }), field('rules.password_reset.vip')],
  ]);
});

describe('PUT and GET /v1/admin/tenants/:tenantId/directory', () => {
  const P = (fx: Fixture) => `/v1/admin/tenants/${fx.tenantId}/directory`;
  const put =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'PUT', path: P(fx), body });
  const webhook = { kind: 'webhook', baseUrl: 'http://127.0.0.1:9/recovery', keyId: 'k1', secret: 'a-webhook-secret-of-32-characters' };
  const keycloak = { kind: 'keycloak', baseUrl: 'http://127.0.0.1:9', realm: 'r', clientId: 'c', clientSecret: 's' };
  runCases([
    ...authCases('PUT', P, () => ({ kind: 'builtin' })).map(([n, r, e]): Case => [`PUT: ${n}`, r, e]),
    ...authCases('GET', P).map(([n, r, e]): Case => [`GET: ${n}`, r, e]),
    ...bodyCases('PUT', P, () => ({ kind: 'builtin' })).map(([n, r, e]): Case => [`PUT: ${n}`, r, e]),
    ['GET: invalid tenantId path param', () => ({ method: 'GET', path: '/v1/admin/tenants/Bad_Tenant/directory' }), field('params.tenantId')],
    ['PUT: unknown kind', put({ kind: 'ldap' }), field('kind')],
    ['PUT: missing kind', put({ baseUrl: webhook.baseUrl }), field('kind')],
    ['PUT: webhook without secret', put({ ...webhook, secret: undefined }), field('secret')],
    ['PUT: webhook secret too short', put({ ...webhook, secret: 'short' }), field('secret')],
    ['PUT: webhook baseUrl not a URL', put({ ...webhook, baseUrl: 'users.example' }), field('baseUrl')],
    ['PUT: webhook baseUrl with credentials', put({ ...webhook, baseUrl: 'https://u:p@users.example' }), field('baseUrl')],
    ['PUT: webhook keyId with a space', put({ ...webhook, keyId: 'k 1' }), field('keyId')],
    ['PUT: keycloak realm with a slash', put({ ...keycloak, realm: 'a/b' }), field('realm')],
    ['PUT: keycloak without clientSecret', put({ ...keycloak, clientSecret: undefined }), field('clientSecret')],
    ['PUT: keycloak field on a webhook', put({ ...webhook, realm: 'r' }), field('realm')],
  ]);
});

describe('GET /v1/admin/tenants/:tenantId/directory/health and POST /v1/admin/directory-secrets/reseal', () => {
  const P = (fx: Fixture) => `/v1/admin/tenants/${fx.tenantId}/directory/health`;
  runCases([
    ...authCases('GET', P).map(([n, r, e]): Case => [`health: ${n}`, r, e]),
    ['health: invalid tenantId path param', () => ({ method: 'GET', path: '/v1/admin/tenants/Bad_Tenant/directory/health' }), field('params.tenantId')],
    ...authCases('POST', () => '/v1/admin/directory-secrets/reseal').map(([n, r, e]): Case => [`reseal: ${n}`, r, e]),
  ]);
});

describe('POST /v1/recoveries', () => {
  const P = () => '/v1/recoveries';
  const post =
    (over: (fx: Fixture) => Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(), key: fx.agentKey, body: { ...validRecovery(fx), ...over(fx) } });
  const ctx = (over: Record<string, unknown>) => post(() => ({ context: { ip: nextIp(), ...over } }));
  runCases([
    ...authCases('POST', P, validRecovery),
    ...bodyCases('POST', P, validRecovery, { key: (fx) => fx.agentKey }),
    ['missing tenantId', post(() => ({ tenantId: undefined })), field('tenantId')],
    ['tenantId of the wrong type', post(() => ({ tenantId: ['a', 'b'] })), field('tenantId')],
    ['missing accountId', post(() => ({ accountId: undefined })), field('accountId')],
    ['accountId with a slash', post(() => ({ accountId: 'a/b' })), field('accountId')],
    ['accountId as a number', post(() => ({ accountId: 12345 })), field('accountId')],
    ['unknown kind', post(() => ({ kind: 'sso_bypass' })), field('kind')],
    ['missing kind', post(() => ({ kind: undefined })), field('kind')],
    ['missing reason', post(() => ({ reason: undefined })), field('reason')],
    ['blank reason', post(() => ({ reason: ' \t\n ' })), field('reason')],
    ['reason too long', post(() => ({ reason: LONG(1001) })), field('reason')],
    ['reason with a NUL byte', post(() => ({ reason: 'locked\u0000out' })), field('reason')],
    ['reason with a lone surrogate', post(() => ({ reason: 'locked \udc00 out' })), field('reason')],
    ['empty ticketRef', post(() => ({ ticketRef: '' })), field('ticketRef')],
    ['ticketRef too long', post(() => ({ ticketRef: LONG(201) })), field('ticketRef')],
    ['ticketRef with a NUL byte', post(() => ({ ticketRef: 'T-\u00001' })), field('ticketRef')],
    ['missing context', post(() => ({ context: undefined })), field('context')],
    ['context of the wrong type', post(() => ({ context: '203.0.113.7' })), field('context')],
    ['missing context.ip', post(() => ({ context: { deviceId: 'x' } })), field('context.ip')],
    ['context.ip out of range', ctx({ ip: '256.1.1.1' }), field('context.ip')],
    ['context.ip a hostname', ctx({ ip: 'localhost' }), field('context.ip')],
    ['context.userAgent too long', ctx({ userAgent: LONG(513) }), field('context.userAgent')],
    ['context.userAgent with a NUL byte', ctx({ userAgent: 'Mozilla\u0000/5.0' }), field('context.userAgent')],
    ['context.deviceId with a lone surrogate', ctx({ deviceId: 'dev\ud800ice' }), field('context.deviceId')],
    ['empty context.deviceId', ctx({ deviceId: '' }), field('context.deviceId')],
    ['unknown field in context', ctx({ mac: 'aa:bb' }), field('context.mac')],
    ['context.geo.country in lower case', ctx({ geo: { country: 'gb' } }), field('context.geo.country')],
    ['context.geo.lat above 90', ctx({ geo: { lat: 90.5 } }), field('context.geo.lat')],
    ['context.geo.lon below -180', ctx({ geo: { lon: -181 } }), field('context.geo.lon')],
    ['context.geo.asn negative', ctx({ geo: { asn: -1 } }), field('context.geo.asn')],
    ['context.geo.asn above 2^32-1', ctx({ geo: { asn: 4294967296 } }), field('context.geo.asn')],
    ['context.geo.asn not an integer', ctx({ geo: { asn: 1.5 } }), field('context.geo.asn')],
    ['unknown field in context.geo', ctx({ geo: { city: 'London' } }), field('context.geo.city')],
    ['unknown errorSource', post(() => ({ errorSource: 'cosmic_rays' })), field('errorSource')],
    ['unknown urgency', post(() => ({ urgency: 'asap' })), field('urgency')],
    ['urgency of the wrong type', post(() => ({ urgency: true })), field('urgency')],
  ]);
});

describe('GET /v1/recoveries/:id', () => {
  const get =
    (id: string) =>
    (fx: Fixture): Req => ({ method: 'GET', path: `/v1/recoveries/${id}`, key: fx.agentKey });
  runCases([
    ...authCases('GET', (fx) => `/v1/recoveries/${fx.recoveryId}`),
    ['id without the rec_ prefix', get('abcdefghijklmnop'), field('params.id')],
    ['id too short', get('rec_abc'), field('params.id')],
    ['id one character too long', get('rec_abcdefghijklmnopq'), field('params.id')],
    ['id with a disallowed character', get('rec_abcdefghijklmn%21p'), field('params.id')],
    ['id with an encoded NUL', get('rec_abcdefghijklmn%00p'), field('params.id')],
    ['id with an encoded quote (SQL)', get(`rec_${encodeURIComponent("'or'1'='1")}`), field('params.id')],
    // 414 is what HTTP offers for an over-long URI; either way, in the one error shape.
    ['id of 300 characters', get(`rec_${LONG(296)}`), { status: [400, 414], field: 'params.id' }],
    ['id with malformed percent-encoding', get('rec_abcdefghijklmn%E0%A4%A'), { status: 400, field: 'params.id' }],
  ]);
  it('a well-formed id that does not exist is a 404 naming the id', async () => {
    await expectNoWrite(
      { method: 'GET', path: '/v1/recoveries/rec_AAAAAAAAAAAAAAAA', key: f.agentKey },
      { status: 404, code: 'not_found', field: ['id', 'params.id'] },
    );
  });
});

describe('GET /v1/recoveries (list)', () => {
  const get =
    (q: string) =>
    (fx: Fixture): Req => ({ method: 'GET', path: `/v1/recoveries?${q.replace('$T', fx.tenantId)}`, key: fx.agentKey });
  runCases([
    ...authCases('GET', (fx) => `/v1/recoveries?tenantId=${fx.tenantId}`),
    ['missing tenantId', get(''), field('query.tenantId')],
    ['invalid tenantId', get('tenantId=NOT_OK'), field('query.tenantId')],
    ['tenantId twice', get('tenantId=$T&tenantId=$T'), field('query.tenantId')],
    ['unknown status', get('tenantId=$T&status=bogus'), field('query.status')],
    ['invalid accountId', get('tenantId=$T&accountId=%20'), field('query.accountId')],
    ['limit zero', get('tenantId=$T&limit=0'), field('query.limit')],
    ['limit above 200', get('tenantId=$T&limit=201'), field('query.limit')],
    ['limit not a number', get('tenantId=$T&limit=ten'), field('query.limit')],
    ['limit not an integer', get('tenantId=$T&limit=1.5'), field('query.limit')],
    ['limit empty', get('tenantId=$T&limit='), field('query.limit')],
    ['before not a datetime', get('tenantId=$T&before=yesterday'), field('query.before')],
    ['unknown query parameter', get('tenantId=$T&sort=asc'), field('query.sort')],
  ]);
});

describe('POST /v1/recoveries/:id/verifications', () => {
  const P = (fx: Fixture) => `/v1/recoveries/${fx.recoveryId}/verifications`;
  const valid = () => ({ tier: 2 });
  const post =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), key: fx.agentKey, body });
  runCases([
    ...authCases('POST', P, valid),
    ...bodyCases('POST', P, valid, { key: (fx) => fx.agentKey }),
    ['invalid recovery id', (fx) => ({ method: 'POST', path: '/v1/recoveries/rec_short/verifications', key: fx.agentKey, body: valid() }), field('params.id')],
    [
      'recovery id without prefix',
      (fx) => ({ method: 'POST', path: '/v1/recoveries/1234567890123456/verifications', key: fx.agentKey, body: valid() }),
      field('params.id'),
    ],
    ['missing tier', post({ answers: { card_last4: '4242' } }), field('tier')],
    ['unknown tier', post({ tier: 4 }), field('tier')],
    ['tier as a string', post({ tier: '1', answers: { card_last4: '4242' } }), field('tier')],
    ['tier 1 without answers', post({ tier: 1 }), field('answers')],
    ['tier 1 with no answers', post({ tier: 1, answers: {} }), field('answers')],
    ['tier 1 with 11 answers', post({ tier: 1, answers: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`q${i}`, 'x'])) }), field('answers')],
    ['tier 1 answers as an array', post({ tier: 1, answers: ['4242'] }), field('answers')],
    ['tier 1 with an empty answer', post({ tier: 1, answers: { card_last4: '' } }), field('answers.card_last4')],
    ['tier 1 with a numeric answer', post({ tier: 1, answers: { card_last4: 4242 } }), field('answers.card_last4')],
    ['tier 1 with an answer too long', post({ tier: 1, answers: { card_last4: LONG(257) } }), field('answers.card_last4')],
    ['tier 1 with an invalid answer name', post({ tier: 1, answers: { 'Card-Last4': '4242' } }), field(['answers.Card-Last4', 'answers'])],
    ['tier 2 with an unknown field', post({ tier: 2, answers: { card_last4: '4242' } }), field('answers')],
    ['tier 3 with an unknown channel', post({ tier: 3, channel: 'sms' }), field('channel')],
    ['tier 3 without a channel', post({ tier: 3 }), field('channel')],
  ]);
});

describe('POST /v1/recoveries/:id/cancel', () => {
  const P = (fx: Fixture) => `/v1/recoveries/${fx.spareRecoveryId}/cancel`;
  const valid = () => ({ reason: 'caller hung up' });
  const post =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), key: fx.agentKey, body });
  runCases([
    ...authCases('POST', P, valid),
    ...bodyCases('POST', P, valid, { key: (fx) => fx.agentKey }),
    ['invalid recovery id', (fx) => ({ method: 'POST', path: '/v1/recoveries/not-an-id/cancel', key: fx.agentKey, body: valid() }), field('params.id')],
    ['missing reason', post({}), field('reason')],
    ['blank reason', post({ reason: '   ' }), field('reason')],
    ['reason too long', post({ reason: LONG(1001) }), field('reason')],
    ['reason of the wrong type', post({ reason: 42 }), field('reason')],
    ['reason with a NUL byte', post({ reason: 'hung\u0000up' }), field('reason')],
  ]);
});

describe('POST /v1/recoveries/:id/approvals', () => {
  const P = (fx: Fixture) => `/v1/recoveries/${fx.recoveryId}/approvals`;
  const valid = () => ({ decision: 'approve', comment: 'caller verified on a video call' });
  const post =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), body });
  runCases([
    ...authCases('POST', P, valid),
    ...bodyCases('POST', P, valid),
    ['invalid recovery id', () => ({ method: 'POST', path: '/v1/recoveries/rec_!!/approvals', body: valid() }), field('params.id')],
    ['missing decision', post({ comment: 'ok' }), field('decision')],
    ['unknown decision', post({ decision: 'maybe', comment: 'ok' }), field('decision')],
    ['decision as a boolean', post({ decision: true, comment: 'ok' }), field('decision')],
    ['missing comment', post({ decision: 'approve' }), field('comment')],
    ['blank comment', post({ decision: 'deny', comment: '  ' }), field('comment')],
    ['comment too long', post({ decision: 'deny', comment: LONG(1001) }), field('comment')],
  ]);
});

describe('GET /v1/links/:token', () => {
  runCases([
    ['token over 200 characters', () => ({ method: 'GET', path: `/v1/links/${LONG(201)}`, key: null }), { status: [400, 414], field: 'params.token' }],
    ['invalid ?tenant=', (fx) => ({ method: 'GET', path: `/v1/links/${fx.token}?tenant=NOT_A_TENANT`, key: null }), field('query.tenant')],
    [
      '?tenant= twice',
      (fx) => ({ method: 'GET', path: `/v1/links/${fx.token}?tenant=${fx.tenantId}&tenant=${fx.tenantId}`, key: null }),
      field('query.tenant'),
    ],
    ['unknown query parameter', (fx) => ({ method: 'GET', path: `/v1/links/${fx.token}?utm_source=mail`, key: null }), field('query.utm_source')],
    [
      'token with malformed percent-encoding',
      () => ({ method: 'GET', path: '/v1/links/t1.%E0%A4%A', key: null }),
      { status: [400, 404], code: ['invalid_field', 'link_invalid'] },
    ],
    [
      'token of 150 characters (within the schema, over the router limit)',
      () => ({ method: 'GET', path: `/v1/links/t1.${LONG(147)}`, key: null }),
      { status: [400, 404], code: ['invalid_field', 'link_invalid'] },
    ],
  ]);
  it('an odd ?tenant= on a live token is a 4xx with the shape, never a 500, and does not consume it', async () => {
    const failures: string[] = [];
    for (const q of ['tenant=a&tenant=b', 'tenant=%00', 'tenant=x%ED%A0%80y', 'tenant[x]=1', `tenant=${LONG(5000)}`]) {
      const req: Req = { method: 'GET', path: `/v1/links/${f.token}?${q}`, key: null };
      const r = await send(req);
      try {
        assertErrorShape(req, r);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    const still = await h.api('GET', `/v1/links/${f.token}`, { key: null });
    assert.equal(still.status, 200, still.text);
  });
});

describe('POST /v1/links/redeem', () => {
  const P = () => '/v1/links/redeem';
  const valid = () => ({ token: 't1.' + 'A'.repeat(43), newPassword: STRONG_PASSWORD });
  const post =
    (body: unknown): ((fx: Fixture) => Req) =>
    () => ({ method: 'POST', path: P(), key: null, body });
  runCases([
    ...bodyCases('POST', P, valid, { key: () => null }),
    ['missing token', post({ newPassword: STRONG_PASSWORD }), field('token')],
    ['empty token', post({ token: '', newPassword: STRONG_PASSWORD }), field('token')],
    ['token of the wrong type', post({ token: 12345, newPassword: STRONG_PASSWORD }), field('token')],
    ['token too long', post({ token: LONG(201), newPassword: STRONG_PASSWORD }), field('token')],
    ['invalid tenantId', post({ ...valid(), tenantId: 'Not A Tenant' }), field('tenantId')],
    ['newPassword of the wrong type', post({ ...valid(), newPassword: 12345678 }), field('newPassword')],
    ['newPassword too long', post({ ...valid(), newPassword: LONG(4 * PASSWORD_MAX + 1) }), field('newPassword')],
    ['factor of the wrong type', post({ ...valid(), factor: 'totp' }), field('factor')],
    ['factor of an unknown type', post({ ...valid(), factor: { type: 'sms' } }), field('factor.type')],
    ['factor with a blank label', post({ ...valid(), factor: { type: 'totp', label: ' ' } }), field('factor.label')],
    ['factor with an unknown field', post({ ...valid(), factor: { type: 'totp', secret: 'JBSWY3DPEHPK3PXP' } }), field('factor.secret')],
  ]);

  it('with a live token: a missing or weak newPassword is a 400 naming newPassword and does not consume the link', async () => {
    const { token } = await recoveryWithLink(await seedAccount(h, f.tenantId));
    const cases: [unknown, string | undefined][] = [
      [{ token, tenantId: f.tenantId }, 'invalid_field'],
      [{ token, tenantId: f.tenantId, newPassword: '' }, undefined],
      [{ token, tenantId: f.tenantId, newPassword: 'password' }, undefined],
      [{ token, tenantId: f.tenantId, newPassword: 'short' }, undefined],
      [{ token, tenantId: f.tenantId, newPassword: LONG(PASSWORD_MAX + 1) }, undefined],
    ];
    for (const [body, code] of cases) {
      await expectNoWrite({ method: 'POST', path: P(), key: null, body }, { status: 400, code, field: 'newPassword' });
    }
    // An invalid Idempotency-Key with an otherwise good redemption: refused before anything is consumed.
    await expectNoWrite(
      { method: 'POST', path: P(), key: null, headers: { 'idempotency-key': 'bad key' }, body: { token, tenantId: f.tenantId, newPassword: STRONG_PASSWORD } },
      { status: 400, code: 'invalid_field', field: 'idempotency-key' },
    );
    const still = await h.api('GET', `/v1/links/${token}`, { key: null });
    assert.equal(still.status, 200, `the link must still be live: ${still.text}`);
  });
});

describe('POST /v1/links/cancel', () => {
  const P = () => '/v1/links/cancel';
  const valid = () => ({ token: 't1.' + 'A'.repeat(43) });
  const post =
    (body: unknown): ((fx: Fixture) => Req) =>
    () => ({ method: 'POST', path: P(), key: null, body });
  runCases([
    ...bodyCases('POST', P, valid, { key: () => null }),
    ['missing token', post({}), field('token')],
    ['token of the wrong type', post({ token: { $ne: null } }), field('token')],
    ['token too long', post({ token: LONG(201) }), field('token')],
    ['invalid tenantId', post({ ...valid(), tenantId: 42 }), field('tenantId')],
  ]);
});

describe('POST /v1/events/login', () => {
  const P = () => '/v1/events/login';
  const post =
    (over: Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(), key: fx.ingestKey, body: { ...validLogin(fx), ...over } });
  runCases([
    ...authCases('POST', P, validLogin),
    ...bodyCases('POST', P, validLogin, { key: (fx) => fx.ingestKey }),
    ['missing tenantId', post({ tenantId: undefined }), field('tenantId')],
    ['empty accountId', post({ accountId: '' }), field('accountId')],
    ['missing ip', post({ ip: undefined }), field('ip')],
    ['ip not an address', post({ ip: '1.2.3' }), field('ip')],
    ['missing success', post({ success: undefined }), field('success')],
    ['success as a string', post({ success: 'true' }), field('success')],
    ['at not a datetime', post({ at: 'now' }), field('at')],
    ['at an impossible date', post({ at: '2024-02-30T00:00:00Z' }), field('at')],
    ['at as epoch millis', post({ at: 1700000000000 }), field('at')],
    ['at an hour in the future', post({ at: new Date(Date.now() + 3_600_000).toISOString() }), field('at')],
    ['empty deviceId', post({ deviceId: '' }), field('deviceId')],
    ['deviceId with a NUL byte', post({ deviceId: 'lap\u0000top' }), field('deviceId')],
    ['geo.lat of the wrong type', post({ geo: { lat: '51.5' } }), field('geo.lat')],
    ['geo.lon out of range', post({ geo: { lon: 181 } }), field('geo.lon')],
    ['geo.country three letters', post({ geo: { country: 'GBR' } }), field('geo.country')],
  ]);
});

describe('GET /v1/audit and /v1/audit/verify', () => {
  const get =
    (p: string) =>
    (fx: Fixture): Req => ({ method: 'GET', path: p.replace('$T', fx.tenantId) });
  runCases([
    ...authCases('GET', (fx) => `/v1/audit?tenantId=${fx.tenantId}`).map(([n, r, e]): Case => [`audit: ${n}`, r, e]),
    ...authCases('GET', (fx) => `/v1/audit/verify?tenantId=${fx.tenantId}`).map(([n, r, e]): Case => [`verify: ${n}`, r, e]),
    ['audit: missing tenantId', get('/v1/audit'), field('query.tenantId')],
    ['audit: invalid tenantId', get('/v1/audit?tenantId=%27%3B--'), field('query.tenantId')],
    ['audit: from not a datetime', get('/v1/audit?tenantId=$T&from=2024-13-01'), field('query.from')],
    ['audit: to as epoch seconds', get('/v1/audit?tenantId=$T&to=1700000000'), field('query.to')],
    ['audit: unknown format', get('/v1/audit?tenantId=$T&format=xml'), field('query.format')],
    ['audit: limit zero', get('/v1/audit?tenantId=$T&limit=0'), field('query.limit')],
    ['audit: limit above 10000 for a JSON page', get('/v1/audit?tenantId=$T&limit=10001'), field('query.limit')],
    ['audit: limit above 1,000,000 streamed', get('/v1/audit?tenantId=$T&limit=1000001&format=csv'), field('query.limit')],
    ['audit: cursor negative', get('/v1/audit?tenantId=$T&cursor=-1'), field('query.cursor')],
    ['audit: cursor not a decimal integer', get('/v1/audit?tenantId=$T&cursor=0x10'), field('query.cursor')],
    ['audit: limit negative', get('/v1/audit?tenantId=$T&limit=-5'), field('query.limit')],
    ['audit: unknown query parameter', get('/v1/audit?tenantId=$T&verbose=1'), field('query.verbose')],
    ['audit: format twice', get('/v1/audit?tenantId=$T&format=csv&format=json'), field('query.format')],
    ['verify: missing tenantId', get('/v1/audit/verify'), field('query.tenantId')],
    ['verify: invalid tenantId', get('/v1/audit/verify?tenantId=A'), field('query.tenantId')],
    ['verify: unknown query parameter', get('/v1/audit/verify?tenantId=$T&repair=true'), field('query.repair')],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Emergency access (break-glass, SSO bypass) and the built-in directory's sign-in.

/** Bad grant ids in the path of /v1/break-glass/:id{suffix}. */
function grantIdCases(method: string, suffix: string, key: (fx: Fixture) => string | undefined, body?: () => unknown): Case[] {
  const req =
    (id: string) =>
    (fx: Fixture): Req => ({ method, path: `/v1/break-glass/${id}${suffix}`, key: key(fx), body: body?.() });
  return [
    ['id without the bg_ prefix', req('abcdefghijklmnop'), field('params.id')],
    ['id of a recovery (rec_ prefix)', req('rec_abcdefghijklmnop'), field('params.id')],
    ['id with an upper-case prefix', req('BG_abcdefghijklmnop'), field('params.id')],
    ['id too short', req('bg_abc'), field('params.id')],
    ['id one character short', req(`bg_${LONG(15)}`), field('params.id')],
    ['id one character too long', req(`bg_${LONG(17)}`), field('params.id')],
    ['id with a disallowed character', req('bg_abcdefghijklmn%21p'), field('params.id')],
    ['id with an encoded slash', req('bg_abcdefghijklmn%2Fp'), field('params.id')],
    ['id with an encoded NUL', req('bg_abcdefghijklmn%00p'), field('params.id')],
    ['id with an encoded lone surrogate', req('bg_abcdefghijklmn%ED%A0%80'), field('params.id')],
    ['id with an encoded quote (SQL)', req(`bg_${encodeURIComponent("'or'1'='1")}`), field('params.id')],
    ['id of 300 characters', req(`bg_${LONG(297)}`), { status: [400, 414], field: 'params.id' }],
    ['id with malformed percent-encoding', req('bg_abcdefghijklmn%E0%A4%A'), { status: 400, field: 'params.id' }],
  ];
}

const NO_GRANT = 'bg_AAAAAAAAAAAAAAAA';
const NOT_FOUND: Expect = { status: 404, code: 'not_found', field: ['id', 'params.id'] };

describe('POST /v1/break-glass', () => {
  const P = () => '/v1/break-glass';
  const post =
    (over: (fx: Fixture) => Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(), key: fx.agentKey, body: { ...validGrant(fx), ...over(fx) } });
  const target = (t: unknown) => post(() => ({ target: t }));
  runCases([
    ...authCases('POST', P, validGrant),
    ...bodyCases('POST', P, validGrant, { key: (fx) => fx.agentKey }),
    ['missing tenantId', post(() => ({ tenantId: undefined })), field('tenantId')],
    ['tenantId of the wrong type', post(() => ({ tenantId: 42 })), field('tenantId')],
    ['tenantId in upper case', post(() => ({ tenantId: 'UPPER-case' })), field('tenantId')],
    ['tenantId with a NUL byte', post((fx) => ({ tenantId: `${fx.bgTenantId}\u0000` })), field('tenantId')],
    ['tenantId that does not exist', post(() => ({ tenantId: 'no-such-tenant-xyz' })), { status: 404, code: 'tenant_not_found', field: 'tenantId' }],
    ['missing target', post(() => ({ target: undefined })), field('target')],
    ['target null', target(null), field('target')],
    ['target a string', target('designated'), field('target')],
    ['target an array', target([{ designated: true }]), field('target')],
    ['target an empty object', target({}), field('target')],
    ['target designated false', target({ designated: false }), field(['target', 'target.designated'])],
    ['target designated as a string', target({ designated: 'true' }), field(['target', 'target.designated'])],
    ['target designated as 1', target({ designated: 1 }), field(['target', 'target.designated'])],
    [
      'target with both accountId and designated',
      (fx) => ({ ...target({ accountId: fx.bgAccount, designated: true })(fx) }),
      field(['target', 'target.accountId', 'target.designated']),
    ],
    ['target with an unknown field', (fx) => ({ ...target({ accountId: fx.bgAccount, role: 'admin' })(fx) }), field(['target', 'target.role'])],
    ['target.accountId as a number', target({ accountId: 12345 }), field(['target', 'target.accountId'])],
    ['target.accountId empty', target({ accountId: '' }), field(['target', 'target.accountId'])],
    ['target.accountId with a slash', target({ accountId: 'a/b' }), field(['target', 'target.accountId'])],
    ['target.accountId too long', target({ accountId: LONG(129) }), field(['target', 'target.accountId'])],
    ['target.accountId with a NUL byte', target({ accountId: 'bg\u0000admin' }), field('target.accountId')],
    ['target.accountId with a lone surrogate', target({ accountId: 'bg\udc00admin' }), field('target.accountId')],
    ['target.accountId that does not exist', target({ accountId: 'no-such-account' }), { status: 404, code: 'account_not_found', field: 'target.accountId' }],
    [
      'designated target on a tenant without one',
      post((fx) => ({ tenantId: fx.tenantId, target: { designated: true } })),
      { status: 400, code: 'no_designated_account', field: 'target' },
    ],
    ['unknown kind', post(() => ({ kind: 'password_reset' })), field('kind')],
    ['kind in upper case', post(() => ({ kind: 'BREAK_GLASS' })), field('kind')],
    ['kind of the wrong type', post(() => ({ kind: 1 })), field('kind')],
    ['kind null', post(() => ({ kind: null })), field('kind')],
    [
      'sso_bypass on a tenant that signs in locally',
      post(() => ({ kind: 'sso_bypass', target: { designated: true } })),
      { status: 409, code: 'sso_bypass_not_applicable', field: 'kind' },
    ],
    ['missing justification', post(() => ({ justification: undefined })), field('justification')],
    ['blank justification', post(() => ({ justification: ' \t\n ' })), field('justification')],
    ['justification too long', post(() => ({ justification: LONG(2001) })), field('justification')],
    ['justification of the wrong type', post(() => ({ justification: ['outage'] })), field('justification')],
    ['justification with a NUL byte', post(() => ({ justification: 'prod\u0000down' })), field('justification')],
    ['justification with a lone surrogate', post(() => ({ justification: 'prod \ud800 down' })), field('justification')],
    ['missing ticketRef', post(() => ({ ticketRef: undefined })), field('ticketRef')],
    ['blank ticketRef', post(() => ({ ticketRef: '   ' })), field('ticketRef')],
    ['ticketRef too long', post(() => ({ ticketRef: LONG(201) })), field('ticketRef')],
    ['ticketRef of the wrong type', post(() => ({ ticketRef: 4242 })), field('ticketRef')],
    ['ticketRef with a NUL byte', post(() => ({ ticketRef: 'INC-\u00004242' })), field('ticketRef')],
    ['ticketRef with a lone surrogate', post(() => ({ ticketRef: 'INC-\udfff' })), field('ticketRef')],
    ['durationMinutes zero', post(() => ({ durationMinutes: 0 })), field('durationMinutes')],
    ['durationMinutes negative', post(() => ({ durationMinutes: -1 })), field('durationMinutes')],
    ['durationMinutes 61', post(() => ({ durationMinutes: 61 })), field('durationMinutes')],
    ['durationMinutes huge', post(() => ({ durationMinutes: 1e308 })), field('durationMinutes')],
    ['durationMinutes not an integer', post(() => ({ durationMinutes: 1.5 })), field('durationMinutes')],
    ['durationMinutes as a string', post(() => ({ durationMinutes: '15' })), field('durationMinutes')],
    ['durationMinutes null', post(() => ({ durationMinutes: null })), field('durationMinutes')],
    ['durationMinutes as a boolean', post(() => ({ durationMinutes: true })), field('durationMinutes')],
    ['durationSeconds zero', post(() => ({ durationSeconds: 0 })), field('durationSeconds')],
    ['durationSeconds 3601', post(() => ({ durationSeconds: 3601 })), field('durationSeconds')],
    ['durationSeconds negative', post(() => ({ durationSeconds: -5 })), field('durationSeconds')],
    ['durationSeconds not an integer', post(() => ({ durationSeconds: 1.5 })), field('durationSeconds')],
    ['durationSeconds as a string', post(() => ({ durationSeconds: '60' })), field('durationSeconds')],
    ['requestedBy in the body', post(() => ({ requestedBy: 'prn_someone' })), field('requestedBy')],
  ]);
});

describe('GET /v1/break-glass/:id', () => {
  runCases([...authCases('GET', (fx) => `/v1/break-glass/${fx.grantId}`), ...grantIdCases('GET', '', () => undefined)]);
  it('a well-formed id that does not exist is a 404 naming the id', async () => {
    await expectNoWrite({ method: 'GET', path: `/v1/break-glass/${NO_GRANT}` }, NOT_FOUND);
  });
});

describe('POST /v1/break-glass/:id/approvals', () => {
  // The admin key: a body that wrongly passed would still be refused by the workflow (no break_glass_approver role).
  const P = (fx: Fixture) => `/v1/break-glass/${fx.grantId}/approvals`;
  const valid = () => ({ decision: 'approve', comment: 'incident confirmed on the bridge' });
  const post =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), body });
  runCases([
    ...authCases('POST', P, valid),
    ...bodyCases('POST', P, valid),
    ...grantIdCases('POST', '/approvals', () => undefined, valid),
    ['missing decision', post({ comment: 'ok' }), field('decision')],
    ['unknown decision', post({ decision: 'abstain', comment: 'ok' }), field('decision')],
    ['decision in upper case', post({ decision: 'APPROVE', comment: 'ok' }), field('decision')],
    ['decision as a boolean', post({ decision: true, comment: 'ok' }), field('decision')],
    ['missing comment', post({ decision: 'approve' }), field('comment')],
    ['blank comment', post({ decision: 'deny', comment: '  ' }), field('comment')],
    ['comment too long', post({ decision: 'deny', comment: LONG(1001) }), field('comment')],
    ['comment of the wrong type', post({ decision: 'deny', comment: 42 }), field('comment')],
    ['comment with a NUL byte', post({ decision: 'approve', comment: 'on the\u0000bridge' }), field('comment')],
    ['comment with a lone surrogate', post({ decision: 'approve', comment: 'on the \ud800 bridge' }), field('comment')],
    ['principalId in the body', post({ ...valid(), principalId: 'prn_someone' }), field('principalId')],
    ['roles in the body', post({ ...valid(), roles: ['break_glass_approver'] }), field('roles')],
  ]);
  it('a well-formed id that does not exist is a 404 naming the id', async () => {
    await expectNoWrite({ method: 'POST', path: `/v1/break-glass/${NO_GRANT}/approvals`, body: valid() }, NOT_FOUND);
  });
});

describe('POST /v1/break-glass/:id/credential', () => {
  // No body; the requester's key, so a request that wrongly got through would reach the pickup itself.
  const P = (fx: Fixture) => `/v1/break-glass/${fx.grantId}/credential`;
  const post =
    (o: Partial<Req>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), key: fx.agentKey, ...o });
  runCases([
    ...authCases('POST', P),
    ...grantIdCases('POST', '/credential', (fx) => fx.agentKey),
    ['malformed JSON', post({ raw: '{"id": "x",', headers: json }), { status: 400, code: 'malformed_body', field: 'body' }],
    [
      'content-type application/xml',
      post({ raw: '<grant/>', headers: { 'content-type': 'application/xml' } }),
      { status: 415, code: 'unsupported_media_type', field: 'content-type' },
    ],
    [
      'body over the size limit',
      post({ raw: JSON.stringify({ pad: LONG(256 * 1024 + 1024) }), headers: json }),
      { status: 413, code: 'body_too_large', field: 'body' },
    ],
    ...(
      [
        ['too short', 'abc'],
        ['disallowed characters', 'key with spaces!'],
        ['too long', 'k'.repeat(129)],
        ['with a percent sign', 'key-%41%42-12345'],
      ] as const
    ).map(([name, k]): Case => [
      `Idempotency-Key ${name}`,
      post({ headers: { 'idempotency-key': k } }),
      { status: 400, code: 'invalid_field', field: 'idempotency-key' },
    ]),
  ]);
  it('a well-formed id that does not exist is a 404 naming the id', async () => {
    await expectNoWrite({ method: 'POST', path: `/v1/break-glass/${NO_GRANT}/credential`, key: f.agentKey }, NOT_FOUND);
  });
});

describe('POST /v1/break-glass/:id/revoke', () => {
  const P = (fx: Fixture) => `/v1/break-glass/${fx.spareGrantId}/revoke`;
  const valid = () => ({ reason: 'incident closed' });
  const post =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), body });
  runCases([
    ...authCases('POST', P, valid),
    ...bodyCases('POST', P, valid),
    ...grantIdCases('POST', '/revoke', () => undefined, valid),
    ['missing reason', post({}), field('reason')],
    ['blank reason', post({ reason: '   ' }), field('reason')],
    ['reason too long', post({ reason: LONG(1001) }), field('reason')],
    ['reason of the wrong type', post({ reason: 42 }), field('reason')],
    ['reason null', post({ reason: null }), field('reason')],
    ['reason with a NUL byte', post({ reason: 'incident\u0000closed' }), field('reason')],
    ['reason with a lone surrogate', post({ reason: 'incident \udc00 closed' }), field('reason')],
    ['unknown field', post({ ...valid(), force: true }), field('force')],
  ]);
  it('a well-formed id that does not exist is a 404 naming the id', async () => {
    await expectNoWrite({ method: 'POST', path: `/v1/break-glass/${NO_GRANT}/revoke`, body: valid() }, NOT_FOUND);
  });
});

describe('POST /v1/break-glass/:id/review', () => {
  const P = (fx: Fixture) => `/v1/break-glass/${fx.grantId}/review`;
  const valid = () => ({ outcome: 'appropriate', notes: 'access matched the incident timeline' });
  const post =
    (body: unknown) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(fx), body });
  runCases([
    ...authCases('POST', P, valid),
    ...bodyCases('POST', P, valid),
    ...grantIdCases('POST', '/review', () => undefined, valid),
    ['missing outcome', post({ notes: 'ok' }), field('outcome')],
    ['unknown outcome', post({ outcome: 'fine', notes: 'ok' }), field('outcome')],
    ['outcome in upper case', post({ outcome: 'APPROPRIATE', notes: 'ok' }), field('outcome')],
    ['outcome of the wrong type', post({ outcome: true, notes: 'ok' }), field('outcome')],
    ['missing notes', post({ outcome: 'appropriate' }), field('notes')],
    ['blank notes', post({ outcome: 'appropriate', notes: '\n\n' }), field('notes')],
    ['notes too long', post({ outcome: 'appropriate', notes: LONG(4001) }), field('notes')],
    ['notes of the wrong type', post({ outcome: 'appropriate', notes: { text: 'ok' } }), field('notes')],
    ['notes with a NUL byte', post({ outcome: 'inappropriate', notes: 'saw\u0000it' }), field('notes')],
    ['notes with a lone surrogate', post({ outcome: 'inappropriate', notes: 'saw \ud800 it' }), field('notes')],
    ['reviewer in the body', post({ ...valid(), reviewer: 'prn_someone' }), field('reviewer')],
  ]);
  it('a well-formed id that does not exist is a 404 naming the id', async () => {
    await expectNoWrite({ method: 'POST', path: `/v1/break-glass/${NO_GRANT}/review`, body: valid() }, NOT_FOUND);
  });
});

describe('POST /v1/directory/sessions', () => {
  const P = () => '/v1/directory/sessions';
  const post =
    (over: (fx: Fixture) => Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(), key: null, body: { ...validDirectory(fx), ...over(fx) } });
  // Every well-formed sign-in attempt takes its rate-limit slots (per IP and per account).
  const INVALID: Expect = { status: 401, code: 'invalid_credential', counted: true };
  runCases([
    ...bodyCases('POST', P, validDirectory, { key: () => null }),
    ['missing tenantId', post(() => ({ tenantId: undefined })), field('tenantId')],
    ['tenantId invalid', post(() => ({ tenantId: 'NOT_A_TENANT' })), field('tenantId')],
    ['tenantId of the wrong type', post(() => ({ tenantId: 7 })), field('tenantId')],
    ['missing accountId', post(() => ({ accountId: undefined })), field('accountId')],
    ['empty accountId', post(() => ({ accountId: '' })), field('accountId')],
    ['accountId with a space', post(() => ({ accountId: 'bg admin' })), field('accountId')],
    ['accountId too long', post(() => ({ accountId: LONG(129) })), field('accountId')],
    ['accountId with a NUL byte', post((fx) => ({ accountId: `${fx.bgAccount}\u0000` })), field('accountId')],
    ['missing credential', post(() => ({ credential: undefined })), field('credential')],
    ['empty credential', post(() => ({ credential: '' })), field('credential')],
    ['credential too long', post(() => ({ credential: `bgc_t1.${LONG(194)}` })), field('credential')],
    ['credential of the wrong type', post(() => ({ credential: 123456 })), field('credential')],
    ['credential an operator object', post(() => ({ credential: { $ne: null } })), field('credential')],
    ['credential an array', post(() => ({ credential: ['bgc_t1.x'] })), field('credential')],
    ['credential with a NUL byte', post(() => ({ credential: `bgc_t1.${'A'.repeat(21)}\u0000${'A'.repeat(21)}` })), field('credential')],
    ['credential with a lone surrogate', post(() => ({ credential: `bgc_t1.${'A'.repeat(42)}\ud800` })), field('credential')],
    ['unknown field', post(() => ({ sessionId: 'sess_1' })), field('sessionId')],
    // Well-formed requests with a credential that is not valid: 401, not 400, and nothing opened.
    ['a well-formed but wrong credential', post(() => ({})), INVALID],
    ['a credential of an unknown key id', post(() => ({ credential: `bgc_zz.${crypto.randomBytes(32).toString('base64url')}` })), INVALID],
    ['a credential not in the bgc_ format', post(() => ({ credential: 'hunter2' })), INVALID],
    ['a credential of 200 characters', post(() => ({ credential: `bgc_t1.${'A'.repeat(193)}` })), INVALID],
    ['a wrong credential for an account that does not exist', post(() => ({ accountId: 'no-such-account' })), INVALID],
    ['a wrong credential for a tenant that does not exist', post(() => ({ tenantId: 'no-such-tenant-xyz' })), INVALID],
    ['a wrong credential with an API key as well', (fx) => ({ ...post(() => ({}))(fx), key: fx.agentKey }), INVALID],
  ]);
});

describe('POST /v1/directory/password-sessions', () => {
  const P = () => '/v1/directory/password-sessions';
  const valid = (fx: Fixture) => ({ tenantId: fx.tenantId, accountId: fx.accountId, password: 'not-the-password-at-all' });
  const post =
    (over: (fx: Fixture) => Record<string, unknown>) =>
    (fx: Fixture): Req => ({ method: 'POST', path: P(), key: null, body: { ...valid(fx), ...over(fx) } });
  // Only the 400s here: a well-formed attempt is counted and audited (directory-password-signin.test.ts).
  runCases([
    ...bodyCases('POST', P, valid, { key: () => null }),
    ['missing tenantId', post(() => ({ tenantId: undefined })), field('tenantId')],
    ['tenantId invalid', post(() => ({ tenantId: 'NOT_A_TENANT' })), field('tenantId')],
    ['missing accountId', post(() => ({ accountId: undefined })), field('accountId')],
    ['accountId an email address', post(() => ({ accountId: 'someone@example.test' })), field('accountId')],
    ['missing password', post(() => ({ password: undefined })), field('password')],
    ['empty password', post(() => ({ password: '' })), field('password')],
    ['password too long', post(() => ({ password: LONG(1025) })), field('password')],
    ['password of the wrong type', post(() => ({ password: 123456 })), field('password')],
    ['password an operator object', post(() => ({ password: { $ne: null } })), field('password')],
    ['password with a NUL byte', post(() => ({ password: 'correct-horse\u0000battery' })), field('password')],
    ['a credential as well', post(() => ({ credential: 'bgc_t1.x' })), field('credential')],
  ]);
});

describe('POST /v1/admin/tenants: breakGlassAccount', () => {
  const post = (breakGlassAccount: unknown) => (): Req => ({ method: 'POST', path: '/v1/admin/tenants', body: { ...validTenant(), breakGlassAccount } });
  runCases([
    ['breakGlassAccount of the wrong type', post(42), field('breakGlassAccount')],
    ['breakGlassAccount null', post(null), field('breakGlassAccount')],
    ['breakGlassAccount an object', post({ accountId: 'bg-admin' }), field('breakGlassAccount')],
    ['breakGlassAccount empty', post(''), field('breakGlassAccount')],
    ['breakGlassAccount with a space', post('bg admin'), field('breakGlassAccount')],
    ['breakGlassAccount with a slash', post('bg/admin'), field('breakGlassAccount')],
    ['breakGlassAccount starting with a dot', post('.bg-admin'), field('breakGlassAccount')],
    ['breakGlassAccount too long', post(LONG(129)), field('breakGlassAccount')],
    ['breakGlassAccount with a NUL byte', post('bg\u0000admin'), field('breakGlassAccount')],
    ['breakGlassAccount with a lone surrogate', post('bg\udfffadmin'), field('breakGlassAccount')],
  ]);
});

describe('a rejected admin import writes nothing', () => {
  it('schema-invalid, duplicate and database-rejected batches leave every table unchanged', async () => {
    const tenantId = await seedTenant(h, 'local');
    const P = `/v1/admin/tenants/${tenantId}/accounts`;
    const good = () => ({ ...validAccount(), knowledge: { card_last4: '4242' }, password: STRONG_PASSWORD, mfaFactors: [{ type: 'totp' }] });
    const a = good();
    const batches: [string, unknown, Expect][] = [
      ['the second account fails the schema', { accounts: [good(), { ...good(), role: 'root' }] }, field('accounts.1.role')],
      ['the same externalId twice', { accounts: [a, { ...good(), externalId: a.externalId }] }, field('accounts')],
      [
        'the last account fails in the database (NUL byte)',
        { accounts: [good(), good(), { ...good(), displayName: 'x\u0000y' }] },
        field('accounts.2.displayName'),
      ],
      ['the last account has a NUL in an email', { accounts: [good(), { ...good(), emails: ['a\u0000@bad.test'] }] }, field('accounts.1.emails.0')],
    ];
    const failures: string[] = [];
    for (const [name, body, exp] of batches) {
      const req: Req = { method: 'POST', path: P, body };
      const before = await rowCounts(h.db);
      const r = await send(req);
      const bad = problems(r, exp);
      const written = diff(before, await rowCounts(h.db));
      if (written.length) bad.push(`rows written: ${written.join(', ')}`);
      try {
        assertErrorShape(req, r);
      } catch (e) {
        bad.push((e as Error).message.split('\n')[0]);
      }
      if (bad.length) failures.push(`${name}: ${bad.join('; ')}\n  request:  ${show(req)}\n  response: ${showRes(r)}`);
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    const ok = await h.api('POST', P, { body: { accounts: [good()] } });
    assert.equal(ok.status, 200, `a good batch still imports afterwards: ${ok.text}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: random and mutated JSON, over real HTTP.

const NUM_RUNS = Number(process.env.BAD_INPUT_RUNS ?? 100);
const TIME_LIMIT_MS = 12_000;

/** Strings that tend to break things downstream of validation. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff x',
    '\u202e',
    '\ufeff',
    "'; drop table tenants; --",
    '${x}',
    '{{x}}',
    '../../etc/passwd',
    '%00',
    ' ',
    '',
    'a'.repeat(2000),
    '1e309',
    '-0',
    'NaN',
    'null',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
  ),
);
const anyValue = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e308, [], {}, [null], { __proto__: null }) },
  { weight: 1, arbitrary: fc.double() },
);

type Path = string[];
type Mutation =
  | { path: Path; op: 'delete' }
  | { path: Path; op: 'set'; value: unknown }
  | { path: Path; op: 'extra'; key: string; value: unknown }
  | { path: Path; op: 'inject'; char: string; at: number };

/** Characters that pass most string schemas and trouble what lies beyond them (Postgres, JSONB, encoders). */
const INJECT = ['\u0000', '\ud800', '\udfff', '\u0007', '\u202e', '\ufeff', '\u2028', '\\', '"', "'", '\n', '\t', 'é', '💥'];

function mutate(base: Record<string, unknown>, muts: Mutation[]): unknown {
  const out = structuredClone<Record<string, unknown>>(base);
  const own = (o: object, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const m of muts) {
    // 'extra' adds an unknown key inside the object at path (the root when path is empty).
    const walk = m.op === 'extra' ? m.path : m.path.slice(0, -1);
    let parent = out;
    for (const seg of walk) {
      if (parent[seg] === null || typeof parent[seg] !== 'object') own(parent, seg, {});
      parent = parent[seg] as Record<string, unknown>;
    }
    if (m.op === 'extra') own(parent, m.key, m.value);
    else if (m.op === 'inject') {
      // Splice one character into the existing string value, keeping the rest of it valid.
      const last = m.path[m.path.length - 1];
      const cur = parent[last];
      if (typeof cur === 'string') own(parent, last, cur.slice(0, m.at % (cur.length + 1)) + m.char + cur.slice(m.at % (cur.length + 1)));
      else own(parent, last, m.char);
    } else if (m.op === 'delete') delete parent[m.path[m.path.length - 1]];
    else own(parent, m.path[m.path.length - 1], m.value);
  }
  return out;
}

function mutated(base: () => Record<string, unknown>, paths: Path[]) {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 1, arbitrary: fc.record({ path: fc.constantFrom(...paths), op: fc.constant('delete' as const) }) },
    { weight: 2, arbitrary: fc.record({ path: fc.constantFrom(...paths), op: fc.constant('set' as const), value: anyValue }) },
    {
      weight: 1,
      arbitrary: fc.record({
        path: fc.constantFrom([] as Path, ...paths),
        op: fc.constant('extra' as const),
        key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', '')),
        value: anyValue,
      }),
    },
    // Most random bodies fail validation; splicing one character into a valid string keeps the
    // body valid often enough to reach the database and the workflow.
    {
      weight: 3,
      arbitrary: fc.record({
        path: fc.constantFrom(...paths),
        op: fc.constant('inject' as const),
        char: fc.oneof(fc.constantFrom('\u0000', '\ud800', '\udfff'), fc.constantFrom(...INJECT)),
        at: fc.nat(64),
      }),
    },
  );
  return fc.array(mutation, { minLength: 1, maxLength: 2 }).map((muts) => mutate(base(), muts));
}

/** A body: random JSON, random anything, or a mutated valid body; sometimes sent as raw bytes. */
function bodies(base: () => Record<string, unknown>, paths: Path[]) {
  return fc.oneof(
    { weight: 4, arbitrary: mutated(base, paths).map((b) => ({ body: b })) },
    { weight: 2, arbitrary: fc.jsonValue({ stringUnit: 'binary' }).map((b) => ({ body: b })) },
    { weight: 1, arbitrary: fc.anything({ withNullPrototype: true, withObjectString: true }).map((b) => ({ body: b })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((raw) => ({ raw })) },
  );
}

async function checkProperty(
  t: { diagnostic(msg: string): void },
  method: string,
  path: () => string,
  key: () => string | null,
  arb: fc.Arbitrary<{ body?: unknown; raw?: string }>,
) {
  const seen = new Map<number, number>();
  let slowest = { ms: 0, req: '', res: '' };
  const started = Date.now();
  await fc
    .assert(
      fc.asyncProperty(arb, async (input) => {
        let req: Req;
        if (input.raw !== undefined) {
          req = { method, path: path(), key: key(), raw: input.raw, headers: json };
        } else {
          const text = JSON.stringify(input.body);
          // JSON.stringify(undefined) is undefined: send no body at all.
          req = text === undefined ? { method, path: path(), key: key() } : { method, path: path(), key: key(), raw: text, headers: json };
        }
        const t0 = Date.now();
        const r = await send(req);
        if (Date.now() - t0 > slowest.ms) slowest = { ms: Date.now() - t0, req: show(req), res: showRes(r) };
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        assert.ok(r.status < 500, `server error\n  request:  ${show(req)}\n  response: ${showRes(r)}`);
        if (r.status >= 400) {
          assertErrorShape(req, r);
          if (r.status === 400 || r.status === 413 || r.status === 415) {
            assert.equal(
              typeof r.body.error.details?.field,
              'string',
              `a ${r.status} without details.field\n  request:  ${show(req)}\n  response: ${showRes(r)}`,
            );
          }
        }
      }),
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    )
    .finally(() => {
      t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))} in ${Date.now() - started} ms`);
      t.diagnostic(`slowest: ${slowest.ms} ms: ${slowest.req.slice(0, 200)} -> ${slowest.res.slice(0, 200)}`);
    });
  return seen;
}

describe('property: random and mutated JSON never gets a 500 or a wrong shape', () => {
  it('POST /v1/recoveries', async (t) => {
    const seen = await checkProperty(
      t,
      'POST',
      () => '/v1/recoveries',
      () => f.agentKey,
      bodies(
        () => recoveryBody(f.tenantId, uniq('prop')),
        [
          ['tenantId'],
          ['accountId'],
          ['kind'],
          ['reason'],
          ['ticketRef'],
          ['context'],
          ['context', 'ip'],
          ['context', 'userAgent'],
          ['context', 'deviceId'],
          ['context', 'geo'],
          ['context', 'geo', 'country'],
          ['context', 'geo', 'lat'],
          ['context', 'geo', 'lon'],
          ['context', 'geo', 'asn'],
          ['errorSource'],
          ['urgency'],
        ],
      ),
    );
    assert.ok((seen.get(400) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen])}`);
  });

  it('POST /v1/admin/tenants', async (t) => {
    const seen = await checkProperty(
      t,
      'POST',
      () => '/v1/admin/tenants',
      () => h.adminKey,
      bodies(validTenant, [['id'], ['name'], ['authMode'], ['securityContacts'], ['securityContacts', '0']]),
    );
    assert.ok((seen.get(400) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen])}`);
  });

  it('POST /v1/links/redeem', async (t) => {
    const seen = await checkProperty(
      t,
      'POST',
      () => '/v1/links/redeem',
      () => null,
      bodies(
        () => ({ token: `t1.${crypto.randomBytes(32).toString('base64url')}`, tenantId: f.tenantId, newPassword: STRONG_PASSWORD }),
        [['token'], ['tenantId'], ['newPassword']],
      ),
    );
    assert.ok((seen.get(400) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen])}`);
  });

  it('POST /v1/recoveries/:id/verifications', async (t) => {
    // Its own recovery in the verifying state, so bodies that pass validation reach the workflow.
    const accountId = await seedAccount(h, f.tenantId);
    const created = await h.api('POST', '/v1/recoveries', { key: f.agentKey, body: recoveryBody(f.tenantId, accountId) });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const ids = [id, id, id, 'rec_AAAAAAAAAAAAAAAA'];
    let i = 0;
    const seen = await checkProperty(
      t,
      'POST',
      () => `/v1/recoveries/${ids[i++ % ids.length]}/verifications`,
      () => f.agentKey,
      fc.oneof(
        bodies(() => ({ tier: 1, answers: { card_last4: '0000' } }), [['tier'], ['answers'], ['answers', 'card_last4'], ['answers', 'postcode']]),
        bodies(() => ({ tier: 3, channel: 'email' }), [['tier'], ['channel']]),
      ),
    );
    assert.ok((seen.get(400) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen])}`);
  });

  it('POST /v1/break-glass', async (t) => {
    // Based on a designated-account request for the fixture's account, which already has an open
    // grant: a body that passes validation gets a 409, never a second grant.
    const seen = await checkProperty(
      t,
      'POST',
      () => '/v1/break-glass',
      () => f.agentKey,
      bodies(
        () => ({
          tenantId: f.bgTenantId,
          kind: 'break_glass',
          target: { designated: true },
          justification: 'prod database locked after failed migration',
          ticketRef: 'INC-4242',
          durationMinutes: 15,
        }),
        [
          ['tenantId'],
          ['kind'],
          ['target'],
          ['target', 'designated'],
          ['target', 'accountId'],
          ['justification'],
          ['ticketRef'],
          ['durationMinutes'],
          ['durationSeconds'],
        ],
      ),
    );
    assert.ok((seen.get(400) ?? 0) > 0, `statuses seen: ${JSON.stringify([...seen])}`);
  });
});

// Last, because a wrong answer here consumes a link or records a decision, and the background work
// that follows would land in the row counts of other tests.
describe('runs last: bad input that would consume a link or record a decision', () => {
  it('with a live token: a newPassword holding a NUL byte or lone surrogates is a 400 naming newPassword and does not consume the link', async () => {
    // A NUL truncates passwords in C-string-based identity systems (the webhook connector's far
    // side); lone surrogates are not Unicode and collapse to U+FFFD when encoded, so distinct
    // inputs would hash alike.
    const accountId = await seedAccount(h, f.tenantId);
    const { id, token } = await recoveryWithLink(accountId);
    const failures: string[] = [];
    for (const newPassword of ['lantern-otter\u0000carries-42', 'lantern-otter-\ud800-carries-42-maps']) {
      const req: Req = { method: 'POST', path: '/v1/links/redeem', key: null, body: { token, tenantId: f.tenantId, newPassword } };
      const before = await rowCounts(h.db);
      const r = await send(req);
      const bad = problems(r, { status: 400, field: 'newPassword' });
      if (r.status >= 400) {
        try {
          assertErrorShape(req, r);
        } catch (e) {
          bad.push((e as Error).message.split('\n')[0]);
        }
      }
      if (r.status < 300) {
        // It was accepted: let that recovery finish so its writes do not land in later tests.
        await until(
          'the accepted recovery to end',
          async () => ['completed', 'failed'].includes((await h.api('GET', `/v1/recoveries/${id}`, { key: f.agentKey })).body.state),
          30_000,
        );
        failures.push(`${bad.join('; ')} (the link was consumed)\n  request:  ${show(req)}\n  response: ${showRes(r)}`);
        break;
      }
      const written = diff(before, await rowCounts(h.db));
      if (written.length) bad.push(`rows written: ${written.join(', ')}`);
      if (bad.length) failures.push(`${bad.join('; ')}\n  request:  ${show(req)}\n  response: ${showRes(r)}`);
    }
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  it('a decision comment with a NUL byte on a recovery awaiting approval is a 400 naming comment, answered at once, recording nothing', async () => {
    const tenantId = await seedTenant(h, 'local');
    await setPolicy(h, tenantId, { rules: { password_reset: { standard: { approvals: 1 } } } });
    const accountId = await seedAccount(h, tenantId);
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const approver = await seedPrincipal(h, ['approver'], [tenantId]);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
    assert.equal(v.status, 200, v.text);
    await until('awaiting approval', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state === 'awaiting_approval');
    for (const decision of ['deny', 'approve']) {
      await expectNoWrite(
        { method: 'POST', path: `/v1/recoveries/${id}/approvals`, key: approver.key, body: { decision, comment: 'called\u0000back' } },
        field('comment'),
      );
    }
    const after = await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key });
    assert.equal(after.body.state, 'awaiting_approval', `no decision was recorded: ${after.text}`);
  });
});
