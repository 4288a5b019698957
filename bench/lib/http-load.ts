// HTTP load with autocannon: a fixed number of connections, no pipelining, one POST route,
// summarised (item 1). testkit/load.ts drives multi-step operations instead.
import autocannon from 'autocannon';

export interface HttpLoadResult {
  seconds: number;
  total: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

export async function httpLoad(o: {
  url: string;
  path: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** A fresh JSON body per request. */
  body: () => unknown;
  onResponse?: (status: number, body: string) => void;
  timeoutSeconds?: number;
}): Promise<HttpLoadResult> {
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    timeout: o.timeoutSeconds ?? 30,
    requests: [
      {
        method: 'POST',
        path: o.path,
        headers: { 'content-type': 'application/json', ...(o.headers ?? {}) },
        setupRequest: (req) => ({ ...req, body: JSON.stringify(o.body()) }),
        ...(o.onResponse ? { onResponse: (status: number, body: string) => o.onResponse!(status, body) } : {}),
      },
    ],
  });
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    seconds: r.duration,
    total,
    rps: total / r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    errors: r.errors,
    non2xx: r.non2xx,
    statusCodes,
  };
}
