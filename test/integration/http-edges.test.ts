// The HTTP layer's edges over raw TCP against the real engine (issue 16 items 1, 8, 10): slow or
// stalled request headers and bodies get a 408 in the error shape within the configured bounds
// (short ones here, so the file takes seconds); a client that aborts mid-body is logged as an
// abort, not as a backing-service outage; errors that Node's HTTP parser or Fastify raise before
// any route runs (400, 413, 417, 431, 501, a missing or doubled Host, bad URLs, auth hooks, a
// request arriving while the app closes) come in the one shape `{ error: { code, message,
// details? } }`; a known path asked with a method it does not serve answers 405 with `Allow`, an
// unknown path 404; and the OpenAPI document says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../api/app';
import { startHarness, type Harness } from '../../testkit/engine';
import { rawExchange, type RawAnswer, type RawPart } from '../../testkit/raw-http';
import { until } from '../../testkit/wait';

const HEADERS_TIMEOUT_S = 1;
const REQUEST_TIMEOUT_S = 2;
/** The bound plus the server's once-a-second sweep, plus slack for a loaded machine. */
const ANSWER_WITHIN_MS = (REQUEST_TIMEOUT_S + 1) * 1000 + 3000;

let h: Harness;
let port: number;
const logLines: string[] = [];

before(async () => {
  h = await startHarness({
    logLines,
    env: { HTTP_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_S), HTTP_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_S) },
  });
  port = Number(new URL(h.baseUrl).port);
});
after(async () => {
  await h?.close();
});

const send = (parts: (string | RawPart)[], o?: Parameters<typeof rawExchange>[2]) =>
  rawExchange(
    port,
    parts.map((p) => (typeof p === 'string' ? { data: p } : p)),
    o,
  );

/** A request head; `Connection: close` so every answer ends with the connection. */
const head = (method: string, path: string, headers: Record<string, string> = {}) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
  Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('') +
  '\r\n';

function assertShape(a: RawAnswer, status: number, code?: string) {
  assert.equal(a.status, status, `status (body: ${a.text.slice(0, 300)})`);
  const body = a.json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  assert.ok(body && typeof body.error === 'object', `the error shape, got: ${a.text.slice(0, 300)}`);
  assert.deepEqual(
    Object.keys(body).filter((k) => k !== 'error'),
    [],
    'nothing beside error',
  );
  assert.equal(typeof body.error.code, 'string');
  assert.equal(typeof body.error.message, 'string');
  for (const k of Object.keys(body.error)) assert.ok(['code', 'message', 'details'].includes(k), `unexpected key error.${k}`);
  if (code) assert.equal(body.error.code, code);
  assert.match(a.headers['content-type'] ?? '', /^application\/json/);
}

describe('slow and stalled requests end within the bounds', () => {
  it('a body stalled after 4 of 20 bytes gets a 408 request_timeout, logged at info, not as an error', async () => {
    const from = logLines.length;
    const started = Date.now();
    const a = await send([head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': '20' }), '{"to']);
    const took = Date.now() - started;
    assert.ok(took < ANSWER_WITHIN_MS, `answered within ${ANSWER_WITHIN_MS} ms, took ${took} ms (status ${a.status})`);
    assertShape(a, 408, 'request_timeout');
    // The body reader fails once the connection is cut: that is the same timeout, not an outage.
    await until('the timeout in the log', () => logLines.slice(from).some((l) => /"level":30.*timed out/.test(l)));
    await until('the cut body reader in the log', () => logLines.slice(from).some((l) => /"level":30.*aborted/.test(l)));
    assert.deepEqual(
      logLines.slice(from).filter((l) => /"level":(50|60)/.test(l)),
      [],
      'nothing logged at error level',
    );
  });

  it('a body dripped a byte at a time is cut at the whole-request bound', async () => {
    const started = Date.now();
    const drip = Array.from({ length: 40 }, (_, i) => ({ data: i === 0 ? '{' : ' ', afterMs: 300 }));
    const a = await send([head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': '60' }), ...drip]);
    const took = Date.now() - started;
    assert.ok(took < ANSWER_WITHIN_MS, `answered within ${ANSWER_WITHIN_MS} ms, took ${took} ms (status ${a.status})`);
    assertShape(a, 408, 'request_timeout');
  });

  it('headers sent a byte at a time (slowloris) get a 408 at the headers bound', async () => {
    const started = Date.now();
    const drip = Array.from('X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', (c) => ({ data: c, afterMs: 300 }));
    const a = await send([{ data: 'POST /v1/links/redeem HTTP/1.1\r\nHost: 127.0.0.1\r\n' }, ...drip]);
    const took = Date.now() - started;
    assert.ok(took < (HEADERS_TIMEOUT_S + 1) * 1000 + 3000, `answered within the headers bound, took ${took} ms (status ${a.status})`);
    assertShape(a, 408, 'request_timeout');
  });

  it('a connection that sends nothing gets a 408 at the headers bound', async () => {
    const started = Date.now();
    const a = await send(['']);
    const took = Date.now() - started;
    assert.ok(took < (HEADERS_TIMEOUT_S + 1) * 1000 + 3000, `answered within the headers bound, took ${took} ms (status ${a.status})`);
    assertShape(a, 408, 'request_timeout');
  });

  it('a request slow but within the bounds is served', async () => {
    const body = JSON.stringify({ token: 't1.AAAA', tenantId: 'nobody' });
    const a = await send([
      head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }),
      { data: body.slice(0, 5), afterMs: 300 },
      { data: body.slice(5), afterMs: 500 },
    ]);
    assert.ok(a.status >= 400 && a.status < 500 && a.status !== 408, `the route answered (${a.status} ${a.text})`);
  });

  it('a client that aborts mid-body is logged as an abort, not as an outage', async () => {
    const from = logLines.length;
    await send([head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': '20' }), '{"to'], {
      abortAfterMs: 300,
    });
    const seen = await until('the abort in the log', () => logLines.slice(from).find((l) => /aborted/i.test(l) && /"msg"/.test(l)));
    const entry = JSON.parse(seen) as { level: number };
    assert.ok(entry.level === 30 || entry.level === 40, `logged at info or warn: ${seen}`);
    const errors = logLines.slice(from).filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(errors, [], 'nothing logged at error level');
  });
});

describe('errors raised before any route runs come in the one shape', () => {
  it('431 for headers over the size limit', async () => {
    assertShape(await send([head('GET', '/healthz', { 'X-Big': 'a'.repeat(20_000) })]), 431, 'headers_too_large');
  });

  it('400 for a malformed header line, a request line with a bad protocol and a smuggling-shaped request', async () => {
    assertShape(await send([head('GET', '/healthz', { 'Bad Header': 'y' })]), 400, 'malformed_request');
    assertShape(await send(['GET /healthz HTTX/1.1\r\nHost: 127.0.0.1\r\n\r\n']), 400, 'malformed_request');
    const both = head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': '2', 'Transfer-Encoding': 'chunked' });
    assertShape(await send([both + '{}']), 400, 'malformed_request');
  });

  it('501 for a method the HTTP parser does not know', async () => {
    assertShape(await send([head('FOO', '/v1/recoveries')]), 501, 'method_not_implemented');
    // A request line of garbage reads as an unknown method too.
    assertShape(await send(['garbage\r\n\r\n']), 501, 'method_not_implemented');
  });

  it('400 naming host for an HTTP/1.1 request without Host, or with two', async () => {
    const none = await send(['GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n']);
    assertShape(none, 400, 'invalid_field');
    assert.deepEqual((none.json as { error: { details?: unknown } }).error.details, { field: 'host' });
    assertShape(await send(['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n']), 400, 'invalid_field');
    // HTTP/1.0 has no Host requirement.
    assert.equal((await send(['GET /healthz HTTP/1.0\r\n\r\n'])).status, 200);
  });

  it('417 for an Expect other than 100-continue, 501 for CONNECT', async () => {
    assertShape(await send([head('GET', '/healthz', { Expect: 'something-else' })]), 417, 'expectation_failed');
    assertShape(await send(['CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n']), 501, 'method_not_implemented');
  });

  it('400 for malformed JSON, 413 for a declared body over the limit, 400 for bad percent-encoding', async () => {
    assertShape(await send([head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': '5' }) + '{bad}']), 400, 'malformed_body');
    assertShape(await send([head('POST', '/v1/links/redeem', { 'Content-Type': 'application/json', 'Content-Length': '300000' })]), 413, 'body_too_large');
    assertShape(await send([head('GET', '/v1/recoveries/%zz')]), 400, 'invalid_field');
  });

  // /readyz documents its own 503 (a readiness report): the draining answer must still pass its serializer.
  for (const path of ['/healthz', '/readyz']) {
    it(`a request arriving while the app closes gets a 503 in the shape (${path})`, async () => {
      // A second app on the harness's parts, so closing it leaves the harness's API running.
      const app = await buildApp({
        db: h.db,
        temporal: h.client,
        // Bounds long enough for the pause below (the harness's are 1 s and 2 s).
        config: { ...h.config, http: { ...h.config.http, headersTimeoutSeconds: 20, requestTimeoutSeconds: 20 } },
        taskQueue: h.taskQueue,
        searchAttributes: false,
        logger: false,
        mailer: h.mailer,
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      let closed: Promise<void> | undefined;
      const timer = setTimeout(() => {
        closed = app.close();
      }, 150);
      try {
        // Headers begun before the close (the connection is not idle), finished well after it.
        const a = await rawExchange((app.server.address() as { port: number }).port, [
          { data: `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` },
          { data: '\r\n', afterMs: 1500 },
        ]);
        assertShape(a, 503, 'unavailable');
      } finally {
        clearTimeout(timer);
        await (closed ?? app.close());
      }
    });
  }

  it('a wrong content type and an onRequest (auth) refusal are in the shape', async () => {
    const plain = await send([head('POST', '/v1/links/redeem', { 'Content-Type': 'text/plain', 'Content-Length': '2' }) + '{}']);
    assertShape(plain, plain.status);
    assert.ok(plain.status >= 400 && plain.status < 500);
    assertShape(await send([head('GET', '/v1/recoveries')]), 401);
  });
});

describe('methods a path does not serve', () => {
  const allowOf = (a: RawAnswer) =>
    (a.headers.allow ?? '')
      .split(',')
      .map((m) => m.trim())
      .sort();

  for (const method of ['TRACE', 'PROPFIND', 'DELETE', 'QUERY']) {
    it(`${method} /v1/recoveries is 405 with Allow`, async () => {
      const a = await send([head(method, '/v1/recoveries')]);
      assertShape(a, 405, 'method_not_allowed');
      assert.deepEqual(allowOf(a), ['GET', 'HEAD', 'POST']);
    });
  }

  it('QUERY with a JSON body is 405 too', async () => {
    const a = await send([head('QUERY', '/v1/recoveries', { 'Content-Type': 'application/json', 'Content-Length': '2' }) + '{}']);
    assertShape(a, 405, 'method_not_allowed');
  });

  it('a parameterised path lists its own methods', async () => {
    const a = await send([head('DELETE', '/v1/admin/tenants/acme/policy', { Authorization: `Bearer ${h.adminKey}` })]);
    assertShape(a, 405, 'method_not_allowed');
    assert.deepEqual(allowOf(a), ['GET', 'HEAD', 'PUT']);
  });

  // A concrete path owns its URL (OpenAPI matches it before a templated one): /v1/links/redeem is
  // not a link named "redeem", so a GET there is not served, and Allow does not offer it.
  it('a concrete path shadowing a templated one lists its own methods only, and refuses the others', async () => {
    for (const path of ['/v1/links/redeem', '/v1/links/cancel']) {
      for (const method of ['OPTIONS', 'GET', 'HEAD', 'PUT']) {
        const a = await send([head(method, path)]);
        assert.equal(a.status, 405, `${method} ${path}: ${a.text.slice(0, 200)}`);
        if (method !== 'HEAD') assertShape(a, 405, 'method_not_allowed');
        assert.deepEqual(allowOf(a), ['POST'], `${method} ${path}`);
      }
    }
    // The templated route still serves every other link.
    assertShape(await send([head('GET', '/v1/links/k1.hV3q9sKx2LmN8pRt4WzY7bCd1FgJ6aEo0uQiSyTnMvU')]), 404, 'link_invalid');
  });

  it('an unknown path stays 404 route_not_found, whatever the method', async () => {
    assertShape(await send([head('GET', '/v1/nothing-here')]), 404, 'route_not_found');
    assertShape(await send([head('TRACE', '/v1/nothing-here')]), 404, 'route_not_found');
  });
});

describe('the OpenAPI document says so', () => {
  it('every operation documents 408 in the error shape, and the description names 405, 408, 431 and 501', async () => {
    const r = await h.api<{ info: { description: string }; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      'GET',
      '/openapi.json',
    );
    assert.equal(r.status, 200);
    const missing = Object.entries(r.body.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => !JSON.stringify(op.responses?.['408'] ?? null).includes('"error"'))
        .map(([m]) => `${m.toUpperCase()} ${p}`),
    );
    assert.deepEqual(missing, []);
    for (const code of ['405', '408', '431', '501', 'method_not_allowed', 'request_timeout']) assert.ok(r.body.info.description.includes(code), code);
  });
});
