// The API as a client sees it: every response is recorded (status, Retry-After, phase), and every
// 5xx other than a 503 with Retry-After is kept with its body as evidence.
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
  ms: number;
}

export interface Call {
  at: number;
  /** The run's phase when the request was sent. */
  phase: string;
  method: string;
  route: string;
  /** HTTP status, or 0 for no answer (connection error or client timeout). */
  status: number;
  /** For status 0: why. */
  noAnswer?: 'timeout' | 'connection';
  retryAfter: string | null;
  ms: number;
}

export interface Evidence {
  at: string;
  phase: string;
  method: string;
  route: string;
  status: number;
  retryAfter: string | null;
  body: string;
}

/** Route template of a path, with ids and tokens replaced, so counts group and no token is printed. */
export function routeOf(method: string, p: string): string {
  const path = p.split('?')[0];
  const r = path
    .replace(/^\/v1\/recoveries\/[^/]+/, '/v1/recoveries/:id')
    .replace(/^\/v1\/links\/(?!redeem$|cancel$)[^/]+$/, '/v1/links/:token')
    .replace(/^\/v1\/admin\/tenants\/[^/]+/, '/v1/admin/tenants/:id');
  return `${method} ${r}`;
}

export class StatusLog {
  readonly calls: Call[] = [];
  readonly evidence: Evidence[] = [];
  phase = 'normal';

  /** `phase` is the phase when the request was sent (a request may outlive its phase). */
  record(c: Omit<Call, 'at'>, body: string) {
    const call = { ...c, at: Date.now() };
    this.calls.push(call);
    const bad = c.status === 0 || (c.status >= 500 && c.status !== 503) || (c.status === 503 && !c.retryAfter);
    if (bad && this.evidence.length < 50) {
      this.evidence.push({ at: new Date(call.at).toISOString(), phase: call.phase, method: c.method, route: c.route, status: c.status, retryAfter: c.retryAfter, body: body.slice(0, 600) });
    }
  }

  select(phase?: string): Call[] {
    return phase ? this.calls.filter((c) => c.phase === phase) : this.calls;
  }

  /** "200:12 503:40 ..." */
  histogram(phase?: string): string {
    const m = new Map<string, number>();
    for (const c of this.select(phase)) {
      const k = c.status === 0 ? `no-answer(${c.noAnswer})` : String(c.status);
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return [...m.entries()].sort().map(([s, n]) => `${s}:${n}`).join(' ') || '-';
  }

  count(pred: (c: Call) => boolean, phase?: string): number {
    return this.select(phase).filter(pred).length;
  }

  /** 5xx answers that are not a 503. */
  non503(phase?: string): number {
    return this.count((c) => c.status >= 500 && c.status !== 503, phase);
  }
  n503(phase?: string): number {
    return this.count((c) => c.status === 503, phase);
  }
  n503WithoutRetryAfter(phase?: string): number {
    return this.count((c) => c.status === 503 && !c.retryAfter, phase);
  }
  noAnswer(phase?: string): number {
    return this.count((c) => c.status === 0, phase);
  }
}

export class Api {
  constructor(
    readonly baseUrl: string,
    readonly log: StatusLog,
  ) {}

  async call<T = any>(
    method: string,
    p: string,
    o: { key?: string | null; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = 'application/json';
    }
    const route = routeOf(method, p);
    const phase = this.log.phase;
    const t0 = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.baseUrl + p, { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 60_000) });
      text = await res.text();
    } catch (err) {
      const ms = Date.now() - t0;
      const noAnswer = (err as Error)?.name === 'TimeoutError' ? 'timeout' : 'connection';
      this.log.record({ phase, method, route, status: 0, noAnswer, retryAfter: null, ms }, String((err as Error)?.message ?? err));
      return { status: 0, body: null as T, text: String((err as Error)?.message ?? err), headers: new Headers(), ms };
    }
    const ms = Date.now() - t0;
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    this.log.record({ phase, method, route, status: res.status, retryAfter: res.headers.get('retry-after'), ms }, text);
    return { status: res.status, body: parsed, text, headers: res.headers, ms };
  }
}
