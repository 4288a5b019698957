// A process manager in miniature: runs one `node --import tsx <file>` at a time, knows when it
// is ready, restarts it after an unexpected death (after 1 s, at most `maxRestarts` times) and
// records every start, kill and death with the tail of its output as evidence.
import { sleep, spawnChild, type Child } from './proc';

export interface ProcEvent {
  at: number;
  /** exited = died while serving (a crash); start-failed = died before it was ready. */
  what: 'started' | 'killed' | 'exited' | 'start-failed';
  pid: number;
  detail?: string;
}

export class Supervised {
  readonly events: ProcEvent[] = [];
  /** Lines of output at pino level >= 50 (error, fatal), for evidence. */
  readonly errorLines: string[] = [];
  private child: Child | null = null;
  private starting: Promise<{ readyMs: number }> | null = null;
  private intentional = new WeakSet<Child>();
  private closing = false;
  private unexpected = 0;
  private startFailures = 0;
  private restarts = 0;
  private seq = 0;

  constructor(
    private readonly o: {
      label: string;
      file: string;
      env: NodeJS.ProcessEnv;
      logFile: string;
      ready: (child: Child) => Promise<void>;
      supervise: boolean;
      maxRestarts?: number;
    },
  ) {}

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

  start(): Promise<{ readyMs: number }> {
    if (this.starting) return this.starting;
    this.starting = (async () => {
      const t0 = Date.now();
      const child = spawnChild(`${this.o.label} #${++this.seq}`, process.execPath, ['--import', 'tsx', this.o.file], { env: this.o.env, logFile: this.o.logFile });
      this.child = child;
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
      let ready = false;
      child.onExit((info) => {
        if (this.intentional.has(child) || this.closing) return;
        if (ready) this.unexpected++;
        else this.startFailures++;
        this.events.push({ at: Date.now(), what: ready ? 'exited' : 'start-failed', pid: child.pid, detail: `${info}; last output:\n${child.tail().slice(-2500)}` });
        if (this.o.supervise && this.child === child && this.restarts < (this.o.maxRestarts ?? 200)) {
          this.child = null;
          this.restarts++;
          void sleep(1000).then(async () => {
            if (!this.closing) await this.start().catch(() => undefined);
          });
        }
      });
      try {
        await this.o.ready(child);
        ready = true;
      } finally {
        this.starting = null;
      }
      this.events.push({ at: Date.now(), what: 'started', pid: child.pid });
      return { readyMs: Date.now() - t0 };
    })();
    return this.starting;
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

  async close(): Promise<void> {
    this.closing = true;
    if (this.starting) await this.starting.catch(() => undefined);
    const c = this.child;
    if (c) {
      this.intentional.add(c);
      await c.stop(5000);
    }
  }
}
