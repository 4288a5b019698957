// npm start stops cleanly: on Ctrl-C (SIGINT) or SIGTERM it stops the API, drains the worker and
// stops the embedded parts, exits 0 without an error line, frees every port it bound and its
// data-folder lock. A real engine: the Temporal dev server, PGlite, the mail sink, worker and API.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../boot/ports';
import { ROOT, spawnTs } from '../../testkit/procs';

const VARIABLES = ['PORT', 'TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT', 'DEV_SMTP_PORT', 'WORKER_METRICS_PORT'] as const;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Whether something accepts connections on 127.0.0.1:port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startAndStop(signal: 'SIGINT' | 'SIGTERM') {
  const ports: Record<string, number> = {};
  for (const v of VARIABLES) ports[v] = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-stop-'));
  dirs.push(dataDir);
  const env = { NODE_ENV: 'development', DATA_DIR: dataDir, ...Object.fromEntries(VARIABLES.map((v) => [v, String(ports[v])])) };
  const child = spawnTs('npm start', path.join(ROOT, 'scripts', 'start.ts'), { env });
  try {
    await child.waitForText('Recovery engine is running.', 120_000);
    for (const v of ['PORT', 'TEMPORAL_DEV_PORT', 'DEV_SMTP_PORT']) assert.ok(await answers(ports[v]), `${v} answers while the engine runs`);
    // Issue 15: the Web UI asks the engine's codec out of the box, and the banner says how to sign in.
    const codec = `http://localhost:${ports.PORT}/codec`;
    const settings = (await (await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    assert.equal(settings.Codec?.Endpoint, codec, JSON.stringify(settings.Codec));
    assert.match(child.tail(), new RegExp(`sign in at http://localhost:${ports.PORT}/signin`));
    const exited = new Promise<string>((resolve) => child.onExit(resolve));
    process.kill(child.pid, signal);
    const exit = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 60 s'), 60_000))]);
    return { exit, output: child.tail(), ports, dataDir };
  } finally {
    await child.kill();
  }
}

describe('npm start stops cleanly', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: exit code 0, no error printed, every port and the data-folder lock freed`, async () => {
      const r = await startAndStop(signal);
      assert.equal(r.exit, 'exit code 0', r.output);
      assert.match(r.output, /stopping\.\.\./);
      assert.doesNotMatch(r.output, /stop failed|IllegalStateError|Not running|Error:|\bat .*\(.*:\d+:\d+\)/, r.output);
      for (const v of VARIABLES) assert.equal(await answers(r.ports[v]), false, `${v} (${r.ports[v]}) is free again`);
      assert.equal(fs.existsSync(path.join(r.dataDir, 'engine.pid')), false, 'the data-folder lock is released');
    });
  }
});
