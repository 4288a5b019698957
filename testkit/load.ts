// Running many operations: mapLimit (each item once, at most N at a time), and load drivers for
// multi-step operations, a closed loop (N lanes back to back for a time) and an open loop (a fixed
// arrival rate for a time). Each operation reports ok or an error code; the drivers time it with
// the monotonic clock. Both are bounded by count and by time.
import { performance } from 'node:perf_hooks';
import { sleep } from './wait';

/** Runs fn over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** ok with an optional note (counted, e.g. 'triage_late'), or an error code. */
export type OpOutcome = { ok: true; ms?: number; note?: string } | { ok: false; code: string };

export interface DriveResult {
  /** Wall time of the measured window, seconds. */
  seconds: number;
  started: number;
  ok: number;
  /** Latencies of the successful operations (ms). */
  latencies: number[];
  errors: Record<string, number>;
  errorCount: number;
  /** Notes of successful operations, counted. */
  notes: Record<string, number>;
  /** Successful operations that completed inside the window, per second. */
  rate: number;
}

interface Acc {
  latencies: number[];
  errors: Record<string, number>;
  notes: Record<string, number>;
  ok: number;
  okInWindow: number;
}

const newAcc = (): Acc => ({ latencies: [], errors: {}, notes: {}, ok: 0, okInWindow: 0 });

async function runOp(op: (i: number) => Promise<OpOutcome>, i: number, into: Acc, windowEnd: number) {
  const t0 = performance.now();
  let out: OpOutcome;
  try {
    out = await op(i);
  } catch (err) {
    out = { ok: false, code: classify(err) };
  }
  const t1 = performance.now();
  if (out.ok) {
    into.ok++;
    if (t1 <= windowEnd) into.okInWindow++;
    into.latencies.push(out.ms ?? t1 - t0);
    if (out.note) into.notes[out.note] = (into.notes[out.note] ?? 0) + 1;
  } else {
    into.errors[out.code] = (into.errors[out.code] ?? 0) + 1;
  }
}

export function classify(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  return e?.cause?.code ?? e?.code ?? (e?.message ?? String(err)).slice(0, 60);
}

/** `lanes` operations back to back, new ones started until `seconds` have passed; at most maxOps. (Not autocannon's HTTP loop: see bench/lib/http-load.ts.) */
export async function closedLoop(o: { lanes: number; seconds: number; maxOps: number; op: (i: number) => Promise<OpOutcome> }): Promise<DriveResult> {
  const acc = newAcc();
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: o.lanes }, async () => {
      while (performance.now() < end && next < o.maxOps) await runOp(o.op, next++, acc, end);
    }),
  );
  const errorCount = Object.values(acc.errors).reduce((a, b) => a + b, 0);
  return {
    seconds: o.seconds,
    started: next,
    ok: acc.ok,
    latencies: acc.latencies,
    errors: acc.errors,
    errorCount,
    notes: acc.notes,
    rate: acc.okInWindow / o.seconds,
  };
}

/** Starts one operation every 1/rate s for `seconds`, regardless of how the earlier ones fare. */
export async function openLoop(o: { rate: number; seconds: number; op: (i: number) => Promise<OpOutcome> }): Promise<DriveResult & { lateStarts: number }> {
  const acc = newAcc();
  const count = Math.round(o.rate * o.seconds);
  const interval = 1000 / o.rate;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  let lateStarts = 0;
  for (let i = 0; i < count; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -interval) lateStarts++;
    running.push(runOp(o.op, i, acc, Infinity));
  }
  await Promise.all(running);
  const errorCount = Object.values(acc.errors).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - t0) / 1000;
  return {
    seconds,
    started: count,
    ok: acc.ok,
    latencies: acc.latencies,
    errors: acc.errors,
    errorCount,
    notes: acc.notes,
    rate: acc.ok / seconds,
    lateStarts,
  };
}
