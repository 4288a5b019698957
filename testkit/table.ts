// Statistics, formatting and the plain-text table the benchmarks and the risk evaluation print.

export interface Row {
  /** Which benchmark of the issue (1, 2a, 2b, 3, 4, 5), or the section of an evaluation. */
  item: string;
  name: string;
  figure: string;
  target: string;
  /** 'PASS', 'FAIL', 'info', or a ratio with its verdict. */
  verdict: string;
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return {
    n,
    mean: n ? s.reduce((a, b) => a + b, 0) / n : NaN,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: n ? s[n - 1] : NaN,
  };
}

export function fmtNum(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v >= 100 ? `${fmtNum(v)} ms` : `${fmtNum(v, 1)} ms`;
}

export function fmtMiB(bytes: number): string {
  return `${fmtNum(bytes / 1024 / 1024, 0)} MiB`;
}

export const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** The one table printed at the end; plain text, aligned, no colours (CI logs). */
export function renderTable(rows: Row[], head: Row = { item: '#', name: 'benchmark', figure: 'figure', target: 'target', verdict: 'ratio / verdict' }): string {
  const cols: (keyof Row)[] = ['item', 'name', 'figure', 'target', 'verdict'];
  const all = [head, ...rows];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...all.map((r) => r[c].length))])) as Record<keyof Row, number>;
  const line = (r: Row) =>
    cols
      .map((c) => r[c].padEnd(width[c]))
      .join(' | ')
      .trimEnd();
  const rule = cols.map((c) => '-'.repeat(width[c])).join('-|-');
  return [line(head), rule, ...rows.map(line)].join('\n');
}
