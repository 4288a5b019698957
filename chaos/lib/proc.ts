// Child processes and undo steps of a chaos run. Every process the run starts is tracked by pid
// and stopped by pid; nothing is ever matched by name.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep, until } from '../../testkit/wait';

export const ROOT = path.resolve(__dirname, '..', '..');

type Cleanup = { label: string; fn: () => Promise<void> | void };
const cleanups: Cleanup[] = [];

/** Registers an undo step; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(label: string, fn: () => Promise<void> | void): () => Promise<void> {
  const entry = { label, fn };
  cleanups.push(entry);
  let done = false;
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
    if (done) return;
    done = true;
    await fn();
  };
}

/** Runs every registered undo step, newest first, each bounded to 20 s; errors are printed, not thrown. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      await Promise.race([c.fn(), sleep(20_000).then(() => console.error(`chaos: cleanup "${c.label}" took over 20 s; moving on`))]);
    } catch (err) {
      console.error(`chaos: cleanup "${c.label}" failed: ${(err as Error).message}`);
    }
  }
}


export interface Child {
  label: string;
  proc: ChildProcess;
  pid: number;
  startedAt: number;
  /** The last 64 KiB of output. */
  tail(): string;
  exited(): boolean;
  exitInfo(): string | null;
  onExit(fn: (info: string) => void): void;
  /** Resolves once a line of output contains `text`; rejects if the process exits first or on timeout. */
  waitForText(text: string, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>;
}

const TAIL = 64 * 1024;

export function spawnChild(label: string, cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string } = {}): Child {
  const proc = spawn(cmd, args, { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`${label}: could not be started`);
  const pid = proc.pid;
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : null;
  let tail = '';
  let exitInfo: string | null = null;
  const exitFns: ((info: string) => void)[] = [];
  const textWaiters = new Set<() => void>();
  const keep = (d: Buffer) => {
    tail = (tail + d.toString('utf8')).slice(-TAIL);
    log?.write(d);
    for (const w of [...textWaiters]) w();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const forget = onCleanup(`stop ${label} (pid ${pid})`, async () => {
    if (exitInfo === null) await child.kill();
  });
  proc.once('exit', (code, sig) => {
    exitInfo = sig ? `signal ${sig}` : `exit code ${code}`;
    log?.end();
    void forget();
    for (const fn of exitFns) fn(exitInfo);
    for (const w of [...textWaiters]) w();
  });
  const exitedPromise = new Promise<void>((r) => proc.once('exit', () => r()));
  const child: Child = {
    label,
    proc,
    pid,
    startedAt: Date.now(),
    tail: () => tail,
    exited: () => exitInfo !== null,
    exitInfo: () => exitInfo,
    onExit(fn) {
      if (exitInfo !== null) fn(exitInfo);
      else exitFns.push(fn);
    },
    waitForText(text, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (tail.includes(text)) return done(null);
          if (exitInfo !== null) return done(new Error(`${label} exited (${exitInfo}) before printing "${text}":\n${tail.slice(-3000)}`));
        };
        const timer = setTimeout(() => done(new Error(`${label} did not print "${text}" within ${timeoutMs} ms:\n${tail.slice(-3000)}`)), timeoutMs);
        const done = (err: Error | null) => {
          clearTimeout(timer);
          textWaiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        textWaiters.add(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (exitInfo !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => exitInfo === null && proc.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(t);
    },
    async kill() {
      if (exitInfo !== null) return;
      proc.kill('SIGKILL');
      await exitedPromise;
    },
  };
  return child;
}

export { sleep, until };
