// Starts the Temporal CLI dev server as a child process (npm start, the test runner, the
// benchmarks and the chaos drills) and waits until it answers with the search attributes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contracts/search-attributes';

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  bin: string;
  port: number;
  /** The Web UI's port; without it the server runs headless. */
  uiPort?: number;
  /** The remote codec the Web UI asks to decode payloads (`--ui-codec-endpoint`), e.g. the engine's /codec. */
  uiCodecEndpoint?: string;
  /** State file (SQLite); without it the state lives in memory. */
  dbFile?: string;
  logFile?: string;
  /** e.g. ['journal_mode=WAL'] (the benchmarks' dev server); SQLite's defaults otherwise. */
  sqlitePragmas?: string[];
  /**
   * Its own process group, so a Ctrl-C in the terminal reaches only npm start, which then stops
   * the API and the worker before the server they talk to.
   */
  detached?: boolean;
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--namespace', 'default', '--log-level', 'warn'];
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.uiPort) args.push('--ui-port', String(o.uiPort), '--ui-ip', '127.0.0.1');
  if (o.uiPort && o.uiCodecEndpoint) args.push('--ui-codec-endpoint', o.uiCodecEndpoint);
  else args.push('--headless');
  for (const p of o.sqlitePragmas ?? []) args.push('--sqlite-pragma', p);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const log = o.logFile ? fs.openSync(o.logFile, 'a') : 'ignore';
  const child = spawn(o.bin, args, { stdio: ['ignore', log, log], detached: o.detached === true });
  if (typeof log === 'number') fs.closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  const address = `127.0.0.1:${o.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited)
      throw new Error(`the Temporal dev server exited at start${o.logFile ? `; see ${o.logFile}:\n${fs.readFileSync(o.logFile, 'utf8').slice(-2000)}` : ''}`);
    try {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      await c.workflowService.getSystemInfo({});
      const ns = await c.operatorService.listSearchAttributes({ namespace: 'default' });
      await c.close();
      if (Object.keys(SEARCH_ATTRIBUTES).every((k) => k in (ns.customAttributes ?? {}))) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the Temporal dev server did not answer within 60 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    address,
    uiUrl: o.uiPort ? `http://127.0.0.1:${o.uiPort}` : null,
    process: child,
    stop: () => stopProcess(child, 5000),
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}
