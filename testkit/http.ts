// The engine's HTTP API as a client sees it: JSON in and out, a bearer key, an optional timeout,
// and optionally every call recorded (the chaos drills judge the API by what it answered); and a
// lean client for latency figures.
import http from 'node:http';

/**
 * An answer's JSON as tests, drills and benchmarks read it when they name no type: left open on
 * purpose, the assertions on it are the check (why eslint.config.mjs lifts the no-unsafe-* rules
 * in these folders). A caller that wants a type passes it: `call<{ events: AuditEventJson[] }>()`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one place the answers' type is left open
export type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  /** The parsed JSON body, or null. */
  body: T;
  text: string;
  headers: Headers;
  ms: number;
}

export interface CallOptions {
  /** Bearer key; undefined: the client's default key, null: none. */
  key?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (for malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** What a recorder learns of a call; `start` runs when it is sent, its result when it has settled. */
export interface CallRecorder {
  start(
    method: string,
    path: string,
  ): (outcome: { status: number; noAnswer?: 'timeout' | 'connection'; retryAfter: string | null; ms: number }, body: string) => void;
}

/** An answer's body as JSON, or null when it is empty or not JSON. */
function jsonOrNull(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly o: {
      /** The key of calls that do not name one. */
      key?: string;
      /** Default per-call timeout; none when unset. */
      timeoutMs?: number;
      /** With a recorder, a call without an HTTP answer is recorded and returned as status 0; without one, it throws. */
      recorder?: CallRecorder;
    } = {},
  ) {}

  async call<T = Json>(method: string, path: string, o: CallOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const key = o.key === undefined ? this.o.key : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const timeoutMs = o.timeoutMs ?? this.o.timeoutMs;
    const record = this.o.recorder?.start(method, path);
    const t0 = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.baseUrl + path, { method, headers, body, ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}) });
      text = await res.text();
    } catch (err) {
      if (!record) throw err;
      const ms = Date.now() - t0;
      const message = String((err as Error)?.message ?? err);
      record({ status: 0, noAnswer: (err as Error)?.name === 'TimeoutError' ? 'timeout' : 'connection', retryAfter: null, ms }, message);
      return { status: 0, body: null as T, text: message, headers: new Headers(), ms };
    }
    const ms = Date.now() - t0;
    record?.({ status: res.status, retryAfter: res.headers.get('retry-after'), ms }, text);
    return { status: res.status, body: jsonOrNull(text) as T, text, headers: res.headers, ms };
  }
}

/** Throws unless the answer has the expected status (setup steps: tenants, accounts, principals). */
export function expectStatus<T>(r: ApiResponse<T>, status: number, what: string): ApiResponse<T> {
  if (r.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
  return r;
}

/**
 * A lean JSON client for timing one request after another: node:http on one kept-alive
 * connection. fetch costs the client itself about a millisecond more a request (measured here:
 * p50 1.25 against 0.53 ms on a trivial local server), which a latency figure should not hold.
 */
export class TimingClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(readonly baseUrl: string) {}

  /** Sends the call and answers its status, parsed JSON body (or null) and ms from send to the last byte. */
  call<T = Json>(
    method: string,
    path: string,
    o: { key: string; body?: unknown; timeoutMs?: number },
  ): Promise<{ status: number; body: T; text: string; ms: number }> {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string | number> = { authorization: `Bearer ${o.key}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(this.baseUrl + path, { method, agent: this.agent, headers, timeout: o.timeoutMs ?? 30_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: jsonOrNull(text) as T, text, ms: performance.now() - t0 }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${o.timeoutMs ?? 30_000} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
