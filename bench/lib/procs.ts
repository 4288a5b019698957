// Child processes the benchmarks start (API, worker, helper servers), each tracked so that the
// run stops exactly the processes it started, by pid, even when a benchmark crashes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

type Cleanup = { label: string; fn: () => Promise<void> | void };
const cleanups: Cleanup[] = [];

/** Registers an undo step (run in reverse order by runCleanups); returns a function that unregisters it. */
export function onCleanup(label: string, fn: () => Promise<void> | void): () => void {
  const entry = { label, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** How many undo steps are registered now; runCleanups(mark) undoes only what came after. */
export function cleanupMark(): number {
  return cleanups.length;
}

/** Runs the registered undo steps after `mark` (all by default), newest first; errors are reported, not thrown. */
export async function runCleanups(mark = 0): Promise<string[]> {
  const failed: string[] = [];
  while (cleanups.length > mark) {
    const c = cleanups.pop()!;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('did not finish within 20 s')), 20_000);
      });
      await Promise.race([c.fn(), timeout]);
    } catch (err) {
      failed.push(`${c.label}: ${(err as Error).message}`);
      console.error(`bench: cleanup "${c.label}" failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return failed;
}

export interface Child {
  label: string;
  proc: ChildProcess;
  pid: number;
  /** The last ~64 KiB of stdout+stderr, for error messages. */
  tail(): string;
  /** Resolves with the first stdout line for which pick returns a value; bounded by timeoutMs. */
  waitForLine<T>(pick: (line: string) => T | undefined, timeoutMs: number): Promise<T>;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

const TAIL_BYTES = 64 * 1024;

/** `node --import tsx <file>` with the given environment; output goes to logFile and a tail buffer. */
export function spawnTs(label: string, file: string, env: Record<string, string>, o: { logFile?: string; ipc?: boolean; nodeArgs?: string[] } = {}): Child {
  // BENCH_NODE_ARGS: extra flags for every child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...extra, ...(o.nodeArgs ?? []), '--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${label}: could not be started`);
  const pid = proc.pid;
  let tail = '';
  let lineBuf = '';
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : null;
  const lineWaiters = new Set<(line: string) => boolean>();
  let exitInfo: string | null = null;
  const exitWaiters = new Set<() => void>();
  const keep = (d: Buffer) => {
    tail = (tail + d.toString('utf8')).slice(-TAIL_BYTES);
    log?.write(d);
  };
  proc.stdout!.on('data', (d: Buffer) => {
    keep(d);
    lineBuf += d.toString('utf8');
    let nl: number;
    while ((nl = lineBuf.indexOf('\n')) >= 0) {
      const line = lineBuf.slice(0, nl);
      lineBuf = lineBuf.slice(nl + 1);
      for (const w of [...lineWaiters]) if (w(line)) lineWaiters.delete(w);
    }
  });
  proc.stderr!.on('data', keep);
  proc.once('exit', (code, sig) => {
    exitInfo = `exited with ${sig ?? code}`;
    log?.end();
    for (const w of exitWaiters) w();
    exitWaiters.clear();
  });
  const forget = onCleanup(`stop ${label} (pid ${pid})`, () => child.stop(3000));

  const child: Child = {
    label,
    proc,
    pid,
    tail: () => tail,
    exited: () => exitInfo !== null,
    waitForLine<T>(pick: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          lineWaiters.delete(w);
          exitWaiters.delete(onExit);
          reject(new Error(`${label}: no expected output within ${Math.round(timeoutMs / 1000)} s; last output:\n${tail.slice(-4000)}`));
        }, timeoutMs);
        const onExit = () => {
          clearTimeout(timer);
          lineWaiters.delete(w);
          reject(new Error(`${label} ${exitInfo} at start; last output:\n${tail.slice(-4000)}`));
        };
        const w = (line: string) => {
          const v = pick(line);
          if (v === undefined) return false;
          clearTimeout(timer);
          exitWaiters.delete(onExit);
          resolve(v);
          return true;
        };
        if (exitInfo) return onExit();
        lineWaiters.add(w);
        exitWaiters.add(onExit);
      });
    },
    async stop(graceMs = 10_000) {
      if (exitInfo) return;
      const done = new Promise<void>((r) => exitWaiters.add(r));
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, graceMs);
      await done;
      clearTimeout(t);
      forget();
    },
    async kill() {
      if (exitInfo) return;
      const done = new Promise<void>((r) => exitWaiters.add(r));
      process.kill(pid, 'SIGKILL');
      await done;
      forget();
    },
  };
  return child;
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
