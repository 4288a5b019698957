// The HTTP layer below the routes: time bounds on reading a request (slowloris), and the one error
// shape for what Node's http server answers by itself (parser errors, read timeouts, Expect,
// CONNECT) and for requests arriving while the app closes.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../infra/config';
import { allowedMethods, notAllowed } from './errors';

/**
 * Node's http server sweeps for expired requests this often (its default, 30 s, would let a
 * stalled request live that much past its bound).
 */
const TIMEOUT_SWEEP_MS = 1000;

/**
 * Fastify's options for the HTTP layer: bounds on the headers, the whole request (headers and
 * body) and a silent connection; Node's connection errors answered in the one shape; no built-in
 * 503 while closing (its body is not the shape; registerHttpEdges gives one that is).
 */
export function httpServerOptions(limits: Config['http']) {
  const requestTimeout = limits.requestTimeoutSeconds * 1000;
  return {
    requestTimeout,
    // Socket inactivity in either direction; also ends a client that stops reading its answer.
    connectionTimeout: limits.idleTimeoutSeconds * 1000,
    http: {
      headersTimeout: limits.headersTimeoutSeconds * 1000,
      requestTimeout,
      connectionsCheckingInterval: TIMEOUT_SWEEP_MS,
      // Node's own refusal has an empty body; registerHttpEdges refuses in the shape instead.
      requireHostHeader: false,
    } satisfies http.ServerOptions,
    clientErrorHandler,
    return503OnClosing: false,
  };
}

/**
 * What Node's http server would answer by itself, in the one shape: an `Expect` it cannot meet
 * (417), CONNECT (501), an HTTP/1.1 request without exactly one Host (400); and requests still
 * arriving on open connections once the app is closing (503). Registered before any route.
 */
export function registerHttpEdges(app: FastifyInstance) {
  app.server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = errorJson('expectation_failed', 'expect: only 100-continue is supported', { field: 'expect' });
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  app.server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    socket.end(rawAnswer({ status: 501, code: 'method_not_implemented', message: 'method: CONNECT is not served' }));
  });
  const shadowed = shadowedTemplates(app);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Answered here rather than thrown: a drain is not a failure to log at error level.
  app.addHook('onRequest', async (req, reply) => {
    if (closing) return reply.code(503).headers({ 'retry-after': '1', connection: 'close' }).send(errorBody('unavailable', 'the API is shutting down; retry'));
    const problem = hostProblem(req.raw);
    if (problem)
      return reply
        .code(400)
        .header('connection', 'close')
        .send(errorBody('invalid_field', problem, { field: 'host' }));
    // A templated route reached through a concrete path of another route's: that path's methods only.
    if (shadowed(req.routeOptions.url)) {
      const allow = allowedMethods(app, req.url);
      if (!allow.includes(req.method)) throw notAllowed(req.method, allow);
    }
  });
}

/**
 * Whether a route template also matches a more concrete one's path (`/v1/links/:token` matches
 * `/v1/links/redeem`): only then is a request's method checked against that path's own routes.
 * Worked out once per template, from the routes registered.
 */
function shadowedTemplates(app: FastifyInstance): (template: string | undefined) => boolean {
  const templates = new Set<string>();
  app.addHook('onRoute', (route) => void templates.add(route.url));
  const params = (t: string) => t.split('/').filter((s) => s.startsWith(':') || s === '*').length;
  const known = new Map<string, boolean>();
  return (template) => {
    if (!template || !params(template)) return false;
    let answer = known.get(template);
    if (answer === undefined) {
      const segments = template.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&')));
      const pattern = new RegExp(`^${segments.join('/')}$`);
      answer = [...templates].some((t) => t !== template && params(t) < params(template) && pattern.test(t));
      known.set(template, answer);
    }
    return answer;
  };
}

/**
 * HTTP/1.1 requires exactly one Host (RFC 9112 3.2); Node keeps the first of several, which
 * could let a proxy and this server disagree on the target.
 */
function hostProblem(req: http.IncomingMessage): string | null {
  const hosts = req.rawHeaders.filter((_, i) => i % 2 === 0).filter((name) => name.toLowerCase() === 'host').length;
  if (hosts > 1) return 'host: sent more than once';
  if (hosts === 0 && req.httpVersion === '1.1') return 'host: required on HTTP/1.1';
  return null;
}

const errorBody = (code: string, message: string, details?: unknown) => ({ error: { code, message, ...(details !== undefined ? { details } : {}) } });
const errorJson = (code: string, message: string, details?: unknown) => JSON.stringify(errorBody(code, message, details));

/** A whole HTTP/1.1 answer in the error shape, for writing straight to a socket; it closes the connection. */
function rawAnswer(a: { status: number; code: string; message: string }): string {
  const body = errorJson(a.code, a.message);
  return (
    `HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status]}\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** What Node's own errors on a connection become: status, code and message in the one shape. */
function clientErrorAnswer(code: string | undefined): { status: number; code: string; message: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'the request was not received in time; send it again' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers_too_large', message: 'headers: larger than the server accepts' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'body_too_large', message: 'body: chunk extensions too large' };
    case 'HPE_INVALID_METHOD':
      return { status: 501, code: 'method_not_implemented', message: 'method: not one this server implements' };
    default:
      return { status: 400, code: 'malformed_request', message: 'not a valid HTTP/1.1 request' };
  }
}

/**
 * Fastify's clientErrorHandler: errors Node's http server raises on a connection before (or while)
 * Fastify sees the request, such as a parse error, oversized headers or a read timeout. Answered
 * on the socket in the one error shape, unless an answer has already started, then closed.
 */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
  // The client went away: nothing to answer, and nothing wrong on our side.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = clientErrorAnswer(err.code);
  if (answer.status === 408) this.log.info({ code: err.code }, 'request timed out while being received');
  else this.log.debug({ code: err.code }, 'malformed request refused');
  const inFlight = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(rawAnswer(answer));
  socket.destroy(err);
}
