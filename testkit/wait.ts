// Bounded waiting, shared by the tests, the benchmarks and the chaos drills.

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls fn until it returns something truthy and returns that; throws after timeoutMs. Always bounded. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Polls until pred() (true) or done() (false: what we waited for can no longer happen, e.g. the
 * flows have all finished); throws after timeoutMs.
 */
export async function untilOrDone(pred: () => boolean, done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pred()) return true;
    if (done()) return false;
    await sleep(100);
  }
  throw new Error(`condition not reached within ${timeoutMs} ms`);
}
