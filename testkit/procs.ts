// Child processes and undo steps of a test run, benchmark run or chaos drill. Every process is
// tracked by pid and stopped by pid, never matched by name; every undo step is registered when
// its thing is created, so a run that crashes still stops and drops what it started.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { PROJECT_ROOT } from '../dev/provision';
import { sleep } from './wait';

export const ROOT = PROJECT_ROOT;

type CleanupEntry = { label: string; fn: () => Promise<void> | void };
const cleanups: CleanupEntry[] = [];

export interface Cleanup {
  /** Unregisters the step without running it (its owner undid the thing itself). */
  forget(): void;
  /** Runs the step now (at most once) and unregisters it. */
  run(): Promise<void>;
}

/** Registers an undo step, run by runCleanups newest first unless forgotten or run before. */
export function onCleanup(label: string, fn: () => Promise<void> | void): Cleanup {
  const entry = { label, fn };
  cleanups.push(entry);
  let ran = false;
  const forget = () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
  return {
    forget,
    async run() {
      forget();
      if (ran) return;
      ran = true;
      await fn();
    },
  };
}

/** How many undo steps are registered now; runCleanups(mark) undoes only what came after. */
export function cleanupMark(): number {
  return cleanups.length;
}

/**
 * Runs the registered undo steps after `mark` (all by default), newest first, each bounded to
 * 20 s. A step that fails or overruns is printed and returned, never thrown: the others still run.
 */
export async function runCleanups(o: { mark?: number; who?: string } = {}): Promise<string[]> {
  const failed: string[] = [];
  while (cleanups.length > (o.mark ?? 0)) {
    const c = cleanups.pop()!;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('did not finish within 20 s')), 20_000);
      });
      await Promise.race([c.fn(), timeout]);
    } catch (err) {
      failed.push(`${c.label}: ${(err as Error).message}`);
      console.error(`${o.who ?? 'testkit'}: cleanup "${c.label}" failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return failed;
}

/** The variables the engine's config reads: a child gets the ones its starter sets, never the parent shell's. */
const PROJECT_VARS = [
  'NODE_ENV', 'HOST', 'PORT', 'PUBLIC_BASE_URL', 'DATA_DIR', 'DATABASE_URL', 'DATABASE_POOL_MAX', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS', 'SMTP_URL', 'MAIL_FROM', 'TOKEN_HMAC_KEYS', 'PAYLOAD_CODEC_KEYS', 'CODEC_CORS_ORIGINS',
  'WORKER_METRICS_ADDRESS', 'WORKER_METRICS_PORT', 'TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT', 'DEV_SMTP_PORT', 'KNOWLEDGE_HMAC_KEY',
  'BOOTSTRAP_ADMIN_KEY', 'POLICY_MODE', 'LOG_LEVEL', 'TRUST_PROXY',
];

/** This process's environment without the engine's variables, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const k of PROJECT_VARS) delete out[k];
  return { ...out, ...env };
}

export interface Child {
  label: string;
  proc: ChildProcess;
  pid: number;
  startedAt: number;
  /** The last 64 KiB of stdout+stderr, for error messages. */
  tail(): string;
  exited(): boolean;
  /** 'exit code N' or 'signal S' once it has exited. */
  exitInfo(): string | null;
  onExit(fn: (info: string) => void): void;
  /** Resolves with the first stdout line for which pick returns a value; rejects if it exits first or on timeout. */
  waitForLine<T>(pick: (line: string) => T | undefined, timeoutMs: number): Promise<T>;
  /** Resolves once the output contains `text`; rejects if it exits first or on timeout. */
  waitForText(text: string, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>;
}

const TAIL_BYTES = 64 * 1024;

/**
 * Starts `cmd args` in the project root with childEnv(env); output goes to logFile (if any) and a
 * tail buffer. Registered for cleanup (stopped with a 3 s grace) until it exits.
 */
export function spawnChild(label: string, cmd: string, args: string[], o: { env?: Record<string, string>; logFile?: string; ipc?: boolean } = {}): Child {
  const proc = spawn(cmd, args, { cwd: ROOT, env: childEnv(o.env ?? {}), stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`${label}: could not be started`);
  const pid = proc.pid;
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : null;
  let tail = '';
  let lineBuf = '';
  let exitInfo: string | null = null;
  const exitFns: ((info: string) => void)[] = [];
  const lineWaiters = new Set<(line: string) => void>();
  const outputWaiters = new Set<() => void>();
  const keep = (d: Buffer) => {
    tail = (tail + d.toString('utf8')).slice(-TAIL_BYTES);
    log?.write(d);
    for (const w of [...outputWaiters]) w();
  };
  proc.stdout!.on('data', (d: Buffer) => {
    keep(d);
    lineBuf += d.toString('utf8');
    let nl: number;
    while ((nl = lineBuf.indexOf('\n')) >= 0) {
      const line = lineBuf.slice(0, nl);
      lineBuf = lineBuf.slice(nl + 1);
      for (const w of [...lineWaiters]) w(line);
    }
  });
  proc.stderr!.on('data', keep);
  const cleanup = onCleanup(`stop ${label} (pid ${pid})`, () => child.stop(3000));
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, sig) => {
      exitInfo = sig ? `signal ${sig}` : `exit code ${code}`;
      log?.end();
      cleanup.forget();
      for (const fn of exitFns) fn(exitInfo);
      for (const w of [...outputWaiters]) w();
      resolve();
    }),
  );

  /** A bounded wait: `register` hooks a check that calls settle with a value, an Error, or undefined (keep waiting). */
  function waitOn<T>(what: string, timeoutMs: number, register: (settle: (v: T | Error | undefined) => void) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let unregister: (() => void) | null = null;
      const timer = setTimeout(() => settle(new Error(`${label} did not ${what} within ${Math.round(timeoutMs / 1000)} s; last output:\n${tail.slice(-4000)}`)), timeoutMs);
      const settle = (v: T | Error | undefined) => {
        if (v === undefined || done) return;
        done = true;
        clearTimeout(timer);
        unregister?.();
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      unregister = register(settle);
      if (done) unregister();
    });
  }
  const exitedFirst = (what: string) => new Error(`${label} exited (${exitInfo}) before it would ${what}; last output:\n${tail.slice(-4000)}`);

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
    waitForLine<T>(pick: (line: string) => T | undefined, timeoutMs: number) {
      const what = 'print the expected line';
      return waitOn<T>(what, timeoutMs, (settle) => {
        const onLine = (line: string) => settle(pick(line));
        const onOutput = () => exitInfo !== null && settle(exitedFirst(what));
        lineWaiters.add(onLine);
        outputWaiters.add(onOutput);
        onOutput();
        return () => {
          lineWaiters.delete(onLine);
          outputWaiters.delete(onOutput);
        };
      });
    },
    waitForText(text: string, timeoutMs: number) {
      const what = `print "${text}"`;
      return waitOn<true>(what, timeoutMs, (settle) => {
        const onOutput = () => settle(tail.includes(text) ? true : exitInfo !== null ? exitedFirst(what) : undefined);
        outputWaiters.add(onOutput);
        onOutput();
        return () => outputWaiters.delete(onOutput);
      }).then(() => undefined);
    },
    async stop(graceMs = 5000) {
      if (exitInfo !== null) return;
      signal(pid, 'SIGTERM');
      const t = setTimeout(() => signal(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      if (exitInfo !== null) return;
      signal(pid, 'SIGKILL');
      await exited;
    },
  };
  return child;
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** `node [nodeArgs] --import tsx <file>`: one of the project's entry points as a process of its own. */
export function spawnTs(label: string, file: string, o: { env?: Record<string, string>; logFile?: string; ipc?: boolean; nodeArgs?: string[] } = {}): Child {
  return spawnChild(label, process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', file], o);
}

export { sleep };
