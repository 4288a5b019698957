// A Temporal dev server for a benchmark or drill: the project's cached CLI, a free port (or the
// given one, to restart a server on its own file), registered for cleanup until stopped.
import { freePort } from '../boot/ports';
import { temporalCliPath } from '../dev/provision';
import { startDevServer, type DevServer, type DevServerOptions } from '../dev/temporal-dev-server';
import { onCleanup } from './procs';

export async function startRunDevServer(o: Omit<DevServerOptions, 'bin' | 'port'> & { port?: number }): Promise<DevServer> {
  const dev = await startDevServer({ ...o, bin: temporalCliPath(), port: o.port ?? (await freePort()) });
  const cleanup = onCleanup(`stop the Temporal dev server on ${dev.address} (pid ${dev.process.pid})`, () => dev.stop());
  return { ...dev, stop: () => cleanup.run() };
}
