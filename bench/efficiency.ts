// Item 5, efficiency: recovery state transitions per second at saturation, next to the physical
// floor measured in the same run: pgbench's single-row INSERT rate (one client) on the same
// Postgres. A transition is one recordTransition activity (read model update + hash-chained
// audit event, one transaction), i.e. one audit event carrying `workflowTime`. The load is full
// password resets in a closed loop: request, Tier 1, link mail, redemption, completion notice.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { describeCpu, startCpuProbe } from './lib/cpu';
import { adminQuery, dropDatabase, withDb } from '../testkit/db';
import { closedLoop } from '../testkit/load';
import { onCleanup } from '../testkit/procs';
import { seedPrincipal } from '../testkit/seed';
import { getShared, startBenchEngine } from './lib/engine';
import { accountOp, linkToken, redeem, startAndTriage, verifyTier1, waitForChangedNotice, waitForLinkMail } from './lib/flows';
import { AccountPool, createTenants, seedAccounts } from './lib/seed';
import { envInt, fmtMs, fmtNum, summarize, type BenchContext, type Row } from './lib/util';

export async function efficiency(ctx: BenchContext): Promise<Row[]> {
  const seconds = envInt('BENCH_EFFICIENCY_SECONDS', ctx.quick ? 5 : 60);
  const pgbenchSeconds = envInt('BENCH_PGBENCH_SECONDS', ctx.quick ? 3 : 10);
  const lanes = envInt('BENCH_EFFICIENCY_CONNECTIONS', 16);
  const tenantCount = envInt('BENCH_TENANTS', 4);

  const floor = await pgbenchInsertRate(ctx, pgbenchSeconds);
  ctx.log(`efficiency: pgbench single-row insert, 1 client, ${pgbenchSeconds} s: ${fmtNum(floor.tps)} tps (latency ${floor.latencyMs} ms)`);

  const e = await startBenchEngine({ label: 'eff' });
  try {
    const tenants = await createTenants(e, 'bench-eff', tenantCount);
    const maxFlows = (seconds + 3) * 40;
    const pool = new AccountPool(await seedAccounts(e, tenants, Math.ceil(maxFlows / tenantCount)));
    const agent = await seedPrincipal(e, ['agent'], tenants);

    const op = accountOp(pool, async (a) => {
      const { id, late } = await startAndTriage(e, agent.key, a);
      await verifyTier1(e, agent.key, id);
      const { mail } = await waitForLinkMail(e, a);
      await redeem(e, a, linkToken(mail));
      await waitForChangedNotice(e, a);
      return { late };
    });

    await closedLoop({ lanes, seconds: ctx.quick ? 2 : 5, maxOps: maxFlows, op });
    ctx.log(`efficiency: ${lanes} resets in flight for ${seconds} s`);
    const from = new Date();
    const t0 = performance.now();
    const shared = await getShared();
    const cpu = await startCpuProbe({ temporal: e.dev!.process.pid!, worker: e.worker.pid, api: e.apiPid, 'load+sink': process.pid }, { adminUrl: shared.adminUrl, databases: [e.dbName] });
    const r = await closedLoop({ lanes, seconds, maxOps: maxFlows, op });
    await cpu.stop();
    const window = (performance.now() - t0) / 1000;
    const to = new Date();
    // Transitions recorded by the workflows (enter(): details carry workflowTime) in the window.
    const counts = await sql<{ transitions: string; events: string }>`
      select count(*) filter (where details ? 'workflowTime') as transitions, count(*) as events
        from audit_events where at >= ${from} and at < ${to}`.execute(e.db);
    const transitions = Number(counts.rows[0].transitions);
    const events = Number(counts.rows[0].events);
    const tps = transitions / window;
    const ratio = tps / floor.tps;
    const s = summarize(r.latencies);
    ctx.log(`efficiency: ${transitions} transitions, ${events} audit events in ${window.toFixed(1)} s; ${r.ok} resets ok (p50 ${fmtMs(s.p50)}), errors ${JSON.stringify(r.errors)}`);
    const perTransition = cpu.perOp(Math.max(1, transitions));
    ctx.log(`efficiency: CPU ms per transition: ${describeCpu(perTransition)}`);
    const errs = r.errorCount ? `, errors ${r.errorCount} (${Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
    return [
      {
        item: '5',
        name: `state transitions/s, full resets (${lanes} in flight, ${seconds} s)`,
        figure: `${fmtNum(tps, 1)} transitions/s (${fmtNum(events / window, 1)} audit events/s, ${fmtNum(r.rate, 1)} resets/s)${errs}`,
        target: 'ratio to pgbench floor',
        verdict: 'info',
      },
      {
        item: '5',
        name: `pgbench single-row INSERT, 1 client (${pgbenchSeconds} s), same Postgres`,
        figure: `${fmtNum(floor.tps)} inserts/s`,
        target: 'physical floor',
        verdict: `transitions/floor ${fmtNum(ratio, 4)}x`,
      },
      { item: '5', name: 'CPU ms per transition, by process', figure: describeCpu(perTransition), target: '', verdict: 'info' },
    ];
  } finally {
    await e.close();
  }
}

/** pgbench -n -c 1 -T s -f <one INSERT> against a scratch table in a scratch database, dropped after. */
async function pgbenchInsertRate(ctx: BenchContext, seconds: number): Promise<{ tps: number; latencyMs: number }> {
  const s = await getShared();
  const name = `bench_pgbench_${crypto.randomBytes(3).toString('hex')}`;
  await adminQuery(s.adminUrl, `create database ${name}`);
  const cleanup = onCleanup(`drop ${name}`, () => dropDatabase(s.adminUrl, name));
  try {
    const url = withDb(s.adminUrl, name);
    await adminQuery(url, 'create table bench_insert (id bigserial primary key, at timestamptz not null default now(), payload text not null)');
    const file = path.join(s.workDir, 'pgbench-insert.sql');
    fs.writeFileSync(file, "insert into bench_insert (payload) values ('recovery.transition');\n");
    const bin = process.env.PGBENCH_PATH ?? 'pgbench';
    ctx.log(`efficiency: ${bin} -n -c 1 -T ${seconds} -f ${path.basename(file)} (scratch database ${name})`);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(bin, ['-n', '-c', '1', '-T', String(seconds), '-f', file, url], { timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
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
