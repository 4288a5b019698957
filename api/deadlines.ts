// Every call from the API to Temporal has a deadline, so a request never hangs on a server that is
// down or a workflow with no worker polling: it answers from the read model or with a 503.
import type { Client } from '@temporalio/client';

export const TEMPORAL_DEADLINE_MS = {
  /** Status queries: past this the API answers from the read model. */
  query: 3_000,
  /** Starting a workflow, or a signal (no worker needed: the server alone answers). */
  start: 10_000,
  signal: 5_000,
  /**
   * Reading a Schedule: the server queries the scheduler workflow its own worker runs, and there is
   * no read model to answer from instead, so it gets a start's time rather than a status query's.
   */
  schedule: 10_000,
  /** Updates need the worker to accept and run them. */
  update: 20_000,
} as const;

export function withTemporalDeadline<T>(temporal: Client, kind: keyof typeof TEMPORAL_DEADLINE_MS, fn: () => Promise<T>): Promise<T> {
  return temporal.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS[kind], fn);
}
