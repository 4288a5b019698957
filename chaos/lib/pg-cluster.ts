// A throwaway Postgres cluster of our own, so the run can stop and start it without touching
// any other database on the machine: initdb into a temp dir, pg_ctl on a free loopback port,
// trust authentication on 127.0.0.1 only, removed at the end. initdb refuses to run as root,
// so as root every command runs as the `postgres` OS user (runuser).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../boot/ports';
import { onCleanup } from '../../testkit/procs';
import { createRuntimeRole } from '../../testkit/db';

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  port: number;
  dir: string;
  /** Superuser URL on the `postgres` database. */
  adminUrl: string;
  urlFor(db: string): string;
  running(): boolean;
  /** `pg_ctl stop -m <mode>` (fast: disconnects clients, clean shutdown). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function binDir(): string {
  const preset = process.env.CHAOS_PG_BIN;
  if (preset) return preset;
  if (fs.existsSync(path.join(DEFAULT_BIN, 'initdb'))) return DEFAULT_BIN;
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('no Postgres server binaries found (looked in /usr/lib/postgresql/*/bin); set CHAOS_PG_BIN');
  return path.join(base, versions[0], 'bin');
}

function run(cmd: string, args: string[], timeoutMs = 90_000): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

export async function startPgCluster(parentDir = os.tmpdir()): Promise<PgCluster> {
  const bin = binDir();
  const dir = fs.mkdtempSync(path.join(parentDir, 'chaos-pg-'));
  const dirCleanup = onCleanup(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  if (process.getuid?.() === 0) {
    const id = (flag: string) =>
      new Promise<number>((res, rej) =>
        execFile('id', [flag, 'postgres'], (e, out) => (e ? rej(new Error('no `postgres` OS user to run initdb as')) : res(Number(String(out).trim())))),
      );
    fs.chownSync(dir, await id('-u'), await id('-g'));
  }
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], 120_000);
  const port = await freePort();
  // Loopback TCP only; the socket lives in our dir. Durability is irrelevant for a throwaway
  // cluster, and the fault under test is a clean fast shutdown anyway.
  const opts = [
    `-p ${port}`,
    `-c listen_addresses=127.0.0.1`,
    `-k ${dir}`,
    `-c fsync=off`,
    `-c full_page_writes=off`,
    `-c synchronous_commit=off`,
    `-c max_connections=200`,
    `-c shared_buffers=64MB`,
  ].join(' ');
  let up = false;
  const start = async () => {
    await run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start']);
    up = true;
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    up = false;
  };
  await start();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // The engines connect as the runtime role (migrations/0008), as in the tests: a fresh cluster needs it made.
  await createRuntimeRole(adminUrl);
  const serverCleanup = onCleanup(`stop chaos postgres on ${port}`, async () => {
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) await stop('immediate').catch(() => undefined);
  });
  return {
    port,
    dir,
    adminUrl,
    urlFor: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    running: () => up,
    stop,
    start,
    async destroy() {
      await serverCleanup.run();
      await dirCleanup.run();
    },
  };
}
