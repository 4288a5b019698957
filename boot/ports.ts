// Ports are configuration: find a free one (tests, benchmarks), or check that a configured one is
// free before binding it, and say in one line which variable moves it.
import net from 'node:net';

/** A port this process is about to bind, with the variable that sets it (for the error line). */
export interface PortClaim {
  host: string;
  port: number;
  variable: string;
  /** What listens there, e.g. "the API". */
  what: string;
}

/** A configured port that is taken. The message is the whole story: the process prints only it. */
export class PortInUseError extends Error {
  constructor(readonly claim: PortClaim) {
    super(`port ${claim.port} on ${claim.host} (${claim.what}) is already in use: set ${claim.variable} to a free port`);
  }
}

/** Some port the OS says is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Binds each claimed port for a moment, in order, and throws PortInUseError for the first one
 * that is taken, before anything has started (so nothing half-started has to be undone).
 * Port 0 means "any" and is not checked.
 */
export async function ensurePortsFree(claims: PortClaim[]): Promise<void> {
  for (const c of claims) {
    if (c.port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new PortInUseError(c) : err));
      srv.listen({ host: c.host, port: c.port, exclusive: true }, () => srv.close(() => resolve()));
    });
  }
}

/** A listen() that failed because the port was taken becomes PortInUseError; anything else is unchanged. */
export function asPortError(err: unknown, claim: PortClaim): unknown {
  return (err as NodeJS.ErrnoException)?.code === 'EADDRINUSE' ? new PortInUseError(claim) : err;
}

/** "127.0.0.1:9464" or "[::1]:9464" -> host and port. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port: Number(address.slice(i + 1)) };
}
