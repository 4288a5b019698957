// Times HTTP requests from a worker thread. The engine under test runs in the test's own process:
// a client on the same event loop would also wait for whatever the server does there after an
// answer is sent, which a real (remote) client never sees. The worker has its own event loop.
import { Worker } from 'node:worker_threads';

export interface TimedRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

export interface TimedAnswer {
  ms: number;
  status: number;
  text: string;
}

// Plain JavaScript: an eval'd worker does not go through the TypeScript loader.
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const out = [];
  for (const r of workerData.requests) {
    const init = r.body === undefined ? { method: r.method } : { method: r.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body) };
    const t0 = performance.now();
    const res = await fetch(workerData.baseUrl + r.path, init);
    const text = await res.text();
    out.push({ ms: performance.now() - t0, status: res.status, text });
  }
  parentPort.postMessage({ out });
})().catch((err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
`;

/** Sends the requests one after another on a keep-alive connection, each timed from send to its last byte. */
export function timeRequests(baseUrl: string, requests: readonly TimedRequest[]): Promise<TimedAnswer[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, { eval: true, workerData: { baseUrl, requests } });
    worker.once('error', reject);
    worker.once('message', (m: { out?: TimedAnswer[]; error?: string }) => {
      void worker.terminate();
      if (m.out) resolve(m.out);
      else reject(new Error(m.error ?? 'the timing client failed'));
    });
  });
}
