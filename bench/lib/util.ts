// Small helpers shared by the benchmarks: the knobs and the context; statistics, formatting and the
// table come from testkit (the risk evaluation prints the same table).

import type { Row } from '../../testkit/table';

export { fmtMiB, fmtMs, fmtNum, percentile, renderTable, summarize, verdict, type Row, type Summary } from '../../testkit/table';

export interface BenchContext {
  quick: boolean;
  /** Progress lines (stderr), so the final table on stdout stays clean. */
  log(msg: string): void;
}

export type Bench = (ctx: BenchContext) => Promise<Row[]>;

/** Integer from the environment, for the knobs documented in bench/README.md. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${v}"`);
  return Math.floor(n);
}
