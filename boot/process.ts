// How an entry point (npm start, the API, the worker) runs and ends. What a user can fix (the
// configuration, a taken port) is one line on stderr and exit code 1, never a stack trace; the
// first SIGINT or SIGTERM stops everything once, in order; a second one ends the process at once.
import { ConfigError } from '../infra/config';
import { PortInUseError } from './ports';

/** Runs an entry point's main; a failure at start ends the process with code 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`config error: ${err.message}\n`);
    else if (err instanceof PortInUseError) process.stderr.write(`${err.message}\n`);
    else console.error(err);
    process.exit(1);
  });
}

/**
 * On the first SIGINT or SIGTERM, runs `stop` and exits 0 (1 if a step failed, after the others
 * ran). A second signal while stopping exits 130 at once, for when a drain takes too long.
 */
export function stopOnSignals(stop: () => Promise<void>, o: { onStopping?: () => void } = {}): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${sig} again: exiting without waiting\n`);
      process.exit(130);
    }
    stopping = true;
    o.onStopping?.();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`stop failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, handler);
}

/** One undo step: whatever it returns is ignored, a thrown error is kept. */
export type Stop = () => unknown;

/** Runs undo steps newest first; every step runs even if an earlier one failed, then the first error is thrown. */
export async function runStops(stops: Stop[]): Promise<void> {
  let first: Error | null = null;
  for (const stop of stops) {
    try {
      await stop();
    } catch (err) {
      first ??= err instanceof Error ? err : new Error(String(err));
    }
  }
  if (first !== null) throw first;
}

/** A function that runs `fn` the first time and hands every later caller the same promise. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= fn());
}
