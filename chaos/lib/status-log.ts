// The API as the drill's clients saw it: every call recorded (status, Retry-After, the phase when
// it was sent), and every 5xx other than a 503 with Retry-After kept with its body as evidence.
// Plugged into testkit's ApiClient as its recorder.
import type { CallRecorder } from '../../testkit/http';

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

export class StatusLog implements CallRecorder {
  readonly calls: Call[] = [];
  readonly evidence: Evidence[] = [];
  phase = 'normal';

  /** Called as a request is sent: the phase is taken now (a request may outlive its phase). */
  start(method: string, path: string): ReturnType<CallRecorder['start']> {
    const phase = this.phase;
    const route = routeOf(method, path);
    return (outcome, body) => this.record({ phase, method, route, ...outcome }, body);
  }

  /** `phase` is the phase when the request was sent (a request may outlive its phase). */
  record(c: Omit<Call, 'at'>, body: string) {
    const call = { ...c, at: Date.now() };
    this.calls.push(call);
    const bad = c.status === 0 || (c.status >= 500 && c.status !== 503) || (c.status === 503 && !c.retryAfter);
    if (bad && this.evidence.length < 50) {
      this.evidence.push({
        at: new Date(call.at).toISOString(),
        phase: call.phase,
        method: c.method,
        route: c.route,
        status: c.status,
        retryAfter: c.retryAfter,
        body: body.slice(0, 600),
      });
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
    return (
      [...m.entries()]
        .sort()
        .map(([s, n]) => `${s}:${n}`)
        .join(' ') || '-'
    );
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
