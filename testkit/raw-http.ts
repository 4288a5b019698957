// HTTP/1.1 spoken by hand over node:net, for what fetch will not send: stalled or dripped bodies,
// headers sent byte by byte, oversized or malformed request lines, methods like TRACE or QUERY.
import net from 'node:net';

export interface RawPart {
  data: string;
  /** Wait this long before writing the part. */
  afterMs?: number;
}

export interface RawAnswer {
  /** 0 when no status line came back. */
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
  /** The server closed the connection (false: we gave up first). */
  closed: boolean;
  /** From the last part written to the answer (or to giving up). */
  elapsedMs: number;
}

/**
 * Writes the parts in order on one connection and collects what comes back until the server
 * closes, a full answer (by content-length) arrived, or giveUpMs passed. `abortAfterMs` destroys
 * the connection from our side that long after the last part.
 */
export function rawExchange(port: number, parts: RawPart[], o: { giveUpMs?: number; abortAfterMs?: number } = {}): Promise<RawAnswer> {
  const giveUpMs = o.giveUpMs ?? 15_000;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let lastWrite = Date.now();
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      socket.destroy();
      resolve({ ...parse(received.toString('utf8')), closed, elapsedMs: Date.now() - lastWrite });
    };
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('data', (d) => {
      received = Buffer.concat([received, d]);
      if (complete(received.toString('utf8'))) finish(false);
    });
    const writeAll = async () => {
      for (const p of parts) {
        if (p.afterMs) await new Promise((r) => timers.push(setTimeout(r, p.afterMs)));
        if (settled || socket.destroyed) return;
        socket.write(p.data);
        lastWrite = Date.now();
      }
      if (o.abortAfterMs !== undefined) timers.push(setTimeout(() => finish(false), o.abortAfterMs));
      timers.push(setTimeout(() => finish(false), giveUpMs));
    };
    socket.on('connect', () => void writeAll());
  });
}

function complete(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, end));
  return length ? Buffer.byteLength(raw.slice(end + 4)) >= Number(length[1]) : false;
}

function parse(raw: string): Omit<RawAnswer, 'closed' | 'elapsedMs'> {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const text = end < 0 ? '' : raw.slice(end + 4);
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}
