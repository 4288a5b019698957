// npm start checks every port it will bind before it starts anything: a taken one is one line on
// stderr naming the port and the variable that moves it, exit code 1, no stack trace. The same
// for a data folder another engine is using.
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

async function ports(): Promise<Record<(typeof VARIABLES)[number], number>> {
  const out = {} as Record<(typeof VARIABLES)[number], number>;
  for (const v of VARIABLES) out[v] = await freePort();
  return out;
}

/**
 * Runs scripts/start.ts with these settings and none of the engine's others (no TEMPORAL_ADDRESS,
 * DATABASE_URL or SMTP_URL: everything embedded); returns how it exited and all it printed.
 */
async function start(env: Record<string, string>): Promise<{ exit: string; output: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-ports-'));
  dirs.push(dataDir);
  const child = spawnTs('npm start', path.join(ROOT, 'scripts', 'start.ts'), { env: { NODE_ENV: 'development', DATA_DIR: dataDir, ...env } });
  const exit = await new Promise<string>((resolve, reject) => {
    // Were the check missing, the engine would start for real: stop it and fail.
    const timer = setTimeout(() => {
      void child.stop(10_000);
      reject(new Error(`scripts/start.ts did not exit within 30 s:\n${child.tail()}`));
    }, 30_000);
    child.onExit((info) => {
      clearTimeout(timer);
      resolve(info);
    });
  });
  return { exit, output: child.tail() };
}

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

describe('npm start names a taken port and the variable that moves it', () => {
  for (const variable of VARIABLES) {
    it(`${variable}: one line, exit code 1, nothing started`, async () => {
      const p = await ports();
      const blocker = await occupy(p[variable]);
      try {
        const r = await start(Object.fromEntries(VARIABLES.map((v) => [v, String(p[v])])));
        assert.equal(r.exit, 'exit code 1', r.output);
        // One line and nothing else: no stack trace, and no "starting ..." (nothing was started).
        const lines = r.output.trim().split('\n');
        assert.equal(lines.length, 1, `exactly one line of output:\n${r.output}`);
        assert.match(lines[0], new RegExp(`^port ${p[variable]} on 127\\.0\\.0\\.1 \\(.+\\) is already in use: set ${variable} to a free port$`));
      } finally {
        await new Promise((r) => blocker.close(r));
      }
    });
  }
});

describe('npm start refuses a data folder another engine is using', () => {
  it('names DATA_DIR and the pid holding it, exit code 1', async () => {
    const p = await ports();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-ports-'));
    dirs.push(dataDir);
    // This test process stands in for the running engine.
    fs.writeFileSync(path.join(dataDir, 'engine.pid'), `${process.pid}\n`);
    const r = await start({ ...Object.fromEntries(VARIABLES.map((v) => [v, String(p[v])])), DATA_DIR: dataDir });
    assert.equal(r.exit, 'exit code 1', r.output);
    assert.equal(
      r.output.trim(),
      `config error: DATA_DIR ${dataDir} is in use by another engine (pid ${process.pid}): stop it, or set DATA_DIR to another folder`,
    );
    assert.equal(fs.readFileSync(path.join(dataDir, 'engine.pid'), 'utf8').trim(), String(process.pid), 'the other engine keeps its lock');
  });
});
