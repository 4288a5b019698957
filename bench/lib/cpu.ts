// CPU time and memory per process from /proc: utime + stime, to put a CPU cost on each operation
// (unlike throughput, it barely moves with other load on the machine), and the resident set size.
import fs from 'node:fs';
import { postgresBackendPids } from '../../testkit/db';
import { fmtNum } from './util';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds used so far by a process (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export interface CpuProbe {
  /** Per label, CPU ms used since start() divided by `ops`. */
  perOp(ops: number): Record<string, number>;
}

/**
 * Samples the named processes at start and stop, and the Postgres backends serving `databases`
 * every 500 ms in between (found through pg_stat_activity; pools open and close connections, so a
 * backend counts from 0 when it appears during the window and with its last reading when it goes).
 */
export async function startCpuProbe(
  pids: Record<string, number>,
  pg?: { adminUrl: string; databases: string[] },
): Promise<CpuProbe & { stop(): Promise<void> }> {
  const backends = async (): Promise<number[]> => {
    if (!pg) return [];
    return postgresBackendPids(pg.adminUrl, pg.databases);
  };
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = async (initial: boolean) => {
    for (const pid of await backends()) {
      const t = cpuSeconds(pid);
      if (t === 0 && !last.has(pid)) continue;
      if (!first.has(pid)) first.set(pid, initial ? t : 0);
      if (t > 0) last.set(pid, t);
    }
  };
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  await sample(true);
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(() => sample(false)).catch(() => undefined);
  }, 500);
  let after: Record<string, number> | null = null;
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      await sample(false);
      after = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    },
    perOp(ops: number) {
      if (!after) throw new Error('stop() the probe first');
      const out: Record<string, number> = {};
      for (const k of Object.keys(pids)) out[k] = (Math.max(0, after[k] - before[k]) * 1000) / ops;
      if (pg) {
        let pgSum = 0;
        for (const [pid, t] of last) pgSum += Math.max(0, t - (first.get(pid) ?? 0));
        out.postgres = (pgSum * 1000) / ops;
      }
      return out;
    },
  };
}

export function describeCpu(perOp: Record<string, number>): string {
  const total = Object.values(perOp).reduce((a, b) => a + b, 0);
  return `${Object.entries(perOp)
    .map(([k, v]) => `${k} ${fmtNum(v, 0)}`)
    .join(', ')}; total ${fmtNum(total, 0)} ms`;
}

/** Resident set size of a process, from /proc/<pid>/status (VmRSS and the peak VmHWM), in bytes. */
export function rssOf(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
