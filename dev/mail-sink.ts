// The dev mail sink: a real SMTP server in-process that keeps what it receives (in memory, and as
// files for the npm start outbox), with fault injection at DATA for the tests and chaos drills.
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface SinkMessage {
  id: string;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html?: string;
  messageId?: string;
  headers: Record<string, string>;
}

export interface MailSinkOptions {
  host?: string;
  /** 0 = ephemeral */
  port?: number;
  /** When set, each message is also written as <dir>/<id>.json and <dir>/<id>.eml, and reloaded on start. */
  dir?: string;
  /** Fault injection: return a code (e.g. 451 or 550) to reject a message at DATA. `attempt` counts DATA commands from 1. */
  failPlan?: (attempt: number, rcpt: string[]) => null | { code: number; message: string };
}

interface Waiter {
  pred: (m: SinkMessage) => boolean;
  resolve: (m: SinkMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const MAX_SIZE = 1024 * 1024;

class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class MailSink {
  readonly host: string;
  private _port = 0;
  private readonly server: SMTPServer;
  private readonly messages = new Map<string, SinkMessage>();
  private waiters = new Set<Waiter>();
  private attempts = 0;
  private closing?: Promise<void>;
  private lastTs = 0;
  private seq = 0;

  private constructor(private readonly opts: MailSinkOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: MAX_SIZE,
      disableReverseLookup: true,
      // Clients that keep a connection open (pools) must not stall close() for the 30 s default.
      closeTimeout: 500,
      onData: (stream, session, cb) => this.onData(stream, session, cb),
    });
    // smtp-server emits client/socket errors here; without a listener they would crash the process.
    this.server.on('error', () => {});
  }

  static async start(opts: MailSinkOptions = {}): Promise<MailSink> {
    const sink = new MailSink(opts);
    if (opts.dir) sink.load(opts.dir);
    const net = sink.server.server;
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      net.listen(opts.port ?? 0, sink.host, () => {
        net.off('error', reject);
        resolve();
      });
    });
    sink._port = (net.address() as AddressInfo).port;
    return sink;
  }

  get port(): number {
    return this._port;
  }

  get url(): string {
    return `smtp://${this.host}:${this.port}`;
  }

  list(): SinkMessage[] {
    return [...this.messages.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): SinkMessage | undefined {
    return this.messages.get(id);
  }

  waitFor(pred: (m: SinkMessage) => boolean, timeoutMs = 10_000): Promise<SinkMessage> {
    return new Promise((resolve, reject) => {
      try {
        const hit = this.list().find(pred);
        if (hit) return resolve(hit);
      } catch (e) {
        return reject(e instanceof Error ? e : new Error(String(e)));
      }
      const w: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          const subjects = this.list().map((m) => JSON.stringify(m.subject));
          reject(new Error(`MailSink.waitFor: no matching message within ${timeoutMs} ms; ` + `received ${subjects.length} so far: [${subjects.join(', ')}]`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Forgets all messages, including their files in `dir` (otherwise they would come back on restart). */
  clear(): void {
    if (this.opts.dir) {
      for (const id of this.messages.keys()) {
        for (const ext of ['.json', '.eml']) fs.rmSync(path.join(this.opts.dir, id + ext), { force: true });
      }
    }
    this.messages.clear();
  }

  /** Idempotent, so tests can close early and still close everything in `after`. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('MailSink closed while waiting for a message'));
    }
    this.waiters.clear();
    this.closing = new Promise((resolve) => this.server.close(() => resolve()));
    return this.closing;
  }

  private load(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const file of fs.readdirSync(dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        const m = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as SinkMessage;
        if (typeof m.id === 'string') this.messages.set(m.id, m);
      } catch {
        // A corrupt or half-written file must not prevent the dev outbox from starting.
      }
    }
  }

  private nextId(): string {
    const now = Date.now();
    if (now > this.lastTs) [this.lastTs, this.seq] = [now, 0];
    let id: string;
    // Fixed-width fields keep ids lexically sortable; the loop skips ids reloaded from dir.
    do id = `${String(this.lastTs).padStart(13, '0')}-${String(this.seq++).padStart(4, '0')}`;
    while (this.messages.has(id));
    return id;
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const chunks: Buffer[] = [];
    // Past the limit keep draining (smtp-server needs the stream consumed) but stop buffering.
    stream.on('data', (c: Buffer) => stream.sizeExceeded || chunks.push(c));
    stream.on('error', (e) => cb(e));
    stream.on('end', () => {
      // smtp-server only advertises the limit; without rejectOversized it would still answer 250.
      if (stream.sizeExceeded) return cb(new SmtpReply(552, `message exceeds fixed maximum message size ${MAX_SIZE}`));
      const rcpt = session.envelope.rcptTo.map((a) => a.address);
      const attempt = ++this.attempts;
      const raw = Buffer.concat(chunks);
      // async so a throwing failPlan or a parser error becomes a 451 reply, never an uncaught exception.
      (async () => {
        const fault = this.opts.failPlan?.(attempt, rcpt);
        if (fault) throw new SmtpReply(fault.code, fault.message);
        await this.store(raw, session, rcpt);
      })().then(
        () => cb(),
        (e: unknown) => cb(e instanceof SmtpReply ? e : new SmtpReply(451, `mail sink could not store message: ${(e as Error)?.message ?? e}`)),
      );
    });
  }

  private async store(raw: Buffer, session: SMTPServerSession, rcpt: string[]): Promise<void> {
    const parsed: ParsedMail = await simpleParser(raw);
    const mailFrom = session.envelope.mailFrom;
    const msg: SinkMessage = {
      id: this.nextId(),
      receivedAt: new Date().toISOString(),
      from: parsed.from?.text ?? (mailFrom ? mailFrom.address : ''),
      // The envelope, not the To header, so Bcc recipients are visible too.
      to: rcpt,
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
      ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
      headers: headerMap(parsed),
    };
    if (this.opts.dir) {
      const base = path.join(this.opts.dir, msg.id);
      await fs.promises.writeFile(base + '.eml', raw);
      // Write-then-rename so a crash never leaves a truncated .json for load() to trip over.
      await fs.promises.writeFile(base + '.json.tmp', JSON.stringify(msg, null, 2));
      await fs.promises.rename(base + '.json.tmp', base + '.json');
    }
    this.messages.set(msg.id, msg);
    for (const w of this.waiters) {
      let match: boolean;
      try {
        match = w.pred(msg);
      } catch (e) {
        match = false;
        this.settle(w, () => w.reject(e as Error));
      }
      if (match) this.settle(w, () => w.resolve(msg));
    }
  }

  private settle(w: Waiter, fn: () => void): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
    fn();
  }
}

/** Header name (lower-case) -> unfolded raw value; repeated headers are joined with ", ". */
function headerMap(parsed: ParsedMail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    out[key] = key in out ? `${out[key]}, ${value}` : value;
  }
  return out;
}
