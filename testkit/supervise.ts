// A process manager in miniature: runs one `node --import tsx <file>` at a time, knows when it is
// ready, optionally restarts it after an unexpected death (after 1 s, at most `maxRestarts`
// times), and records every start, kill and death with the tail of its output as evidence.
import { sleep, spawnTs, type Child } from './procs';

export interface ProcEvent {
  at: number;
  /** exited = died while serving (a crash); start-failed = died before it was ready. */
  what: 'started' | 'killed' | 'exited' | 'start-failed';
  pid: number;
  detail?: string;
}

export interface SupervisedOptions<T> {
  label: string;
  file: string;
  env: Record<string, string>;
  logFile: string;
  /** Resolves (with what the process announced, if anything) once it serves. */
  ready: (child: Child) => Promise<T>;
  /** Start it again after a death we did not cause (the chaos drills); off: a death is only recorded. */
  supervise: boolean;
  maxRestarts?: number;
  ipc?: boolean;
  nodeArgs?: string[];
}

export class Supervised<T = void> {
  readonly events: ProcEvent[] = [];
  /** Lines of output at pino level >= 50 (error, fatal), for evidence. */
  readonly errorLines: string[] = [];
  private child: Child | null = null;
  private starting: Promise<{ readyMs: number; ready: T }> | null = null;
  private lastReady: { readyMs: number; ready: T } | null = null;
  private intentional = new WeakSet<Child>();
  private closing = false;
  private unexpected = 0;
  private startFailures = 0;
  private restarts = 0;
  private seq = 0;

  constructor(private readonly o: SupervisedOptions<T>) {}

  /** The process now serving (or starting), if any. */
  current(): Child | null {
    return this.child;
  }

  /** How long the latest start took, and what the process announced when ready. */
  lastStart(): { readyMs: number; ready: T } | null {
    return this.lastReady;
  }

  /** Deaths while serving that we did not cause. */
  unexpectedExits(): number {
    return this.unexpected;
  }

  /** Deaths before becoming ready (e.g. a dependency was down at start). */
  failedStarts(): number {
    return this.startFailures;
  }

  up(): boolean {
    return this.child !== null && !this.child.exited() && this.starting === null;
  }

  lastStartedAt(): number {
    return Math.max(0, ...this.events.filter((e) => e.what === 'started').map((e) => e.at));
  }

  start(): Promise<{ readyMs: number; ready: T }> {
    if (this.starting) return this.starting;
    this.starting = (async () => {
      const t0 = Date.now();
      const child = spawnTs(`${this.o.label} #${++this.seq}`, this.o.file, {
        env: this.o.env,
        logFile: this.o.logFile,
        ipc: this.o.ipc,
        nodeArgs: this.o.nodeArgs,
      });
      this.child = child;
      this.collectErrorLines(child);
      let ready = false;
      child.onExit((info) => this.onExit(child, info, ready));
      try {
        const value = await this.o.ready(child);
        ready = true;
        this.events.push({ at: Date.now(), what: 'started', pid: child.pid });
        this.lastReady = { readyMs: Date.now() - t0, ready: value };
        return this.lastReady;
      } finally {
        this.starting = null;
      }
    })();
    return this.starting;
  }

  private collectErrorLines(child: Child) {
    let buf = '';
    child.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{') || this.errorLines.length >= 200) continue;
        try {
          if (JSON.parse(line).level >= 50) this.errorLines.push(line);
        } catch {
          // not a log line
        }
      }
    });
  }

  private onExit(child: Child, info: string, ready: boolean) {
    if (this.intentional.has(child) || this.closing) return;
    if (ready) this.unexpected++;
    else this.startFailures++;
    this.events.push({
      at: Date.now(),
      what: ready ? 'exited' : 'start-failed',
      pid: child.pid,
      detail: `${info}; last output:\n${child.tail().slice(-2500)}`,
    });
    if (this.o.supervise && this.child === child && this.restarts < (this.o.maxRestarts ?? 200)) {
      this.child = null;
      this.restarts++;
      void sleep(1000).then(async () => {
        if (!this.closing) await this.start().catch(() => undefined);
      });
    }
  }

  /** SIGKILL the current process (not counted as unexpected); resolves when it is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exited()) return;
    this.intentional.add(c);
    this.child = null;
    await c.kill();
    this.events.push({ at: Date.now(), what: 'killed', pid: c.pid });
  }

  /** SIGTERM the current process and wait for it (SIGKILL after graceMs); start() may follow. */
  async stop(graceMs: number): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    const c = this.child;
    if (!c) return;
    this.intentional.add(c);
    this.child = null;
    await c.stop(graceMs);
  }

  /** Stops it for good: no restart after this. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    await this.stop(graceMs);
  }
}
