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
  'NODE_ENV',
  'HOST',
  'PORT',
  'PUBLIC_BASE_URL',
  'DATA_DIR',
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'SMTP_URL',
  'MAIL_FROM',
  'TOKEN_HMAC_KEYS',
  'PAYLOAD_CODEC_KEYS',
  'CODEC_CORS_ORIGINS',
  'WORKER_METRICS_ADDRESS',
  'WORKER_METRICS_PORT',
  'TEMPORAL_DEV_PORT',
  'TEMPORAL_UI_PORT',
  'DEV_SMTP_PORT',
  'KNOWLEDGE_HMAC_KEY',
  'BOOTSTRAP_ADMIN_KEY',
  'POLICY_MODE',
  'LOG_LEVEL',
  'TRUST_PROXY',
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

/** A started process: its output kept (tail, log file) and watched (line and text waits), its exit recorded. */
class TrackedChild implements Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly startedAt = Date.now();
  private out = '';
  private lineBuf = '';
  private exit: string | null = null;
  private readonly exitPromise: Promise<void>;
  private readonly exitFns: ((info: string) => void)[] = [];
  private readonly lineWatchers = new Set<(line: string) => void>();
  private readonly outputWatchers = new Set<() => void>();

  constructor(
    readonly label: string,
    cmd: string,
    args: string[],
    o: { env?: Record<string, string>; logFile?: string; ipc?: boolean },
  ) {
    this.proc = spawn(cmd, args, { cwd: ROOT, env: childEnv(o.env ?? {}), stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] });
    if (this.proc.pid === undefined) throw new Error(`${label}: could not be started`);
    this.pid = this.proc.pid;
    const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : null;
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString('utf8')).slice(-TAIL_BYTES);
      log?.write(d);
      for (const w of [...this.outputWatchers]) w();
    };
    this.proc.stdout!.on('data', (d: Buffer) => {
      keep(d);
      this.splitLines(d);
    });
    this.proc.stderr!.on('data', keep);
    const cleanup = onCleanup(`stop ${label} (pid ${this.pid})`, () => this.stop(3000));
    this.exitPromise = new Promise<void>((resolve) =>
      this.proc.once('exit', (code, sig) => {
        this.exit = sig ? `signal ${sig}` : `exit code ${code}`;
        log?.end();
        cleanup.forget();
        for (const fn of this.exitFns) fn(this.exit);
        for (const w of [...this.outputWatchers]) w();
        resolve();
      }),
    );
  }

  private splitLines(d: Buffer) {
    this.lineBuf += d.toString('utf8');
    let nl: number;
    while ((nl = this.lineBuf.indexOf('\n')) >= 0) {
      const line = this.lineBuf.slice(0, nl);
      this.lineBuf = this.lineBuf.slice(nl + 1);
      for (const w of [...this.lineWatchers]) w(line);
    }
  }

  tail = () => this.out;
  exitInfo = () => this.exit;
  exited = () => this.exit !== null;

  onExit(fn: (info: string) => void) {
    if (this.exit !== null) fn(this.exit);
    else this.exitFns.push(fn);
  }

  /** A bounded wait: `watch` hooks a check that settles with a value, an Error, or undefined (keep waiting). */
  private waitOn<T>(what: string, timeoutMs: number, watch: (settle: (v: T | Error | undefined) => void) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let unwatch: (() => void) | null = null;
      const timer = setTimeout(
        () => settle(new Error(`${this.label} did not ${what} within ${Math.round(timeoutMs / 1000)} s; last output:\n${this.out.slice(-4000)}`)),
        timeoutMs,
      );
      const settle = (v: T | Error | undefined) => {
        if (v === undefined || done) return;
        done = true;
        clearTimeout(timer);
        unwatch?.();
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      unwatch = watch(settle);
      if (done) unwatch();
    });
  }

  private exitedBefore(what: string): Error | undefined {
    return this.exit === null ? undefined : new Error(`${this.label} exited (${this.exit}) before it would ${what}; last output:\n${this.out.slice(-4000)}`);
  }

  waitForLine<T>(pick: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    const what = 'print the expected line';
    return this.waitOn<T>(what, timeoutMs, (settle) => {
      const onLine = (line: string) => settle(pick(line));
      const onOutput = () => settle(this.exitedBefore(what));
      this.lineWatchers.add(onLine);
      this.outputWatchers.add(onOutput);
      onOutput();
      return () => {
        this.lineWatchers.delete(onLine);
        this.outputWatchers.delete(onOutput);
      };
    });
  }

  async waitForText(text: string, timeoutMs: number): Promise<void> {
    const what = `print "${text}"`;
    await this.waitOn<true>(what, timeoutMs, (settle) => {
      const onOutput = () => settle(this.out.includes(text) ? true : this.exitedBefore(what));
      this.outputWatchers.add(onOutput);
      onOutput();
      return () => this.outputWatchers.delete(onOutput);
    });
  }

  async stop(graceMs = 5000): Promise<void> {
    if (this.exit !== null) return;
    signal(this.pid, 'SIGTERM');
    const t = setTimeout(() => signal(this.pid, 'SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(t);
  }

  async kill(): Promise<void> {
    if (this.exit !== null) return;
    signal(this.pid, 'SIGKILL');
    await this.exitPromise;
  }
}

/**
 * Starts `cmd args` in the project root with childEnv(env); output goes to logFile (if any) and a
 * tail buffer. Registered for cleanup (stopped with a 3 s grace) until it exits.
 */
export function spawnChild(label: string, cmd: string, args: string[], o: { env?: Record<string, string>; logFile?: string; ipc?: boolean } = {}): Child {
  return new TrackedChild(label, cmd, args, o);
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
