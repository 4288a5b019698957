// The physical floors the benchmarks set the engine beside, measured on the same Postgres in the
// same run: one durable INSERT per request (the least a route that records a request must do),
// and pgbench's single-row INSERT rate.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from '../store/db';
import { adminQuery, dropDatabase, withDb } from './db';
import { onCleanup } from './procs';

/** A scratch table `bench_floor` (created if missing) and the one autocommit INSERT per request. */
export async function commitFloor(db: Db): Promise<{ record(body: unknown): Promise<void> }> {
  await sql`create table if not exists bench_floor (id bigserial primary key, body jsonb not null, at timestamptz not null default now())`.execute(db);
  return {
    async record(body) {
      await sql`insert into bench_floor (body) values (${JSON.stringify(body ?? null)})`.execute(db);
    },
  };
}

/**
 * pgbench -n -c 1 -T s -f <one INSERT> against a scratch table in a scratch database, dropped
 * after. PGBENCH_PATH names the binary (default: pgbench on PATH).
 */
export async function pgbenchInsertRate(o: {
  adminUrl: string;
  workDir: string;
  seconds: number;
  log(line: string): void;
}): Promise<{ tps: number; latencyMs: number }> {
  const name = `bench_pgbench_${crypto.randomBytes(3).toString('hex')}`;
  await adminQuery(o.adminUrl, `create database ${name}`);
  const cleanup = onCleanup(`drop ${name}`, () => dropDatabase(o.adminUrl, name));
  try {
    const url = withDb(o.adminUrl, name);
    await adminQuery(url, 'create table bench_insert (id bigserial primary key, at timestamptz not null default now(), payload text not null)');
    const file = path.join(o.workDir, 'pgbench-insert.sql');
    fs.writeFileSync(file, "insert into bench_insert (payload) values ('recovery.transition');\n");
    const bin = process.env.PGBENCH_PATH ?? 'pgbench';
    o.log(`efficiency: ${bin} -n -c 1 -T ${o.seconds} -f ${path.basename(file)} (scratch database ${name})`);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(bin, ['-n', '-c', '1', '-T', String(o.seconds), '-f', file, url], { timeout: (o.seconds + 30) * 1000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`pgbench failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const tps = /tps = ([0-9.]+)/.exec(out);
    const lat = /latency average = ([0-9.]+) ms/.exec(out);
    if (!tps) throw new Error(`pgbench printed no tps:\n${out}`);
    return { tps: Number(tps[1]), latencyMs: lat ? Number(lat[1]) : NaN };
  } finally {
    await cleanup.run();
  }
}
