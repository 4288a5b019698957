// Item 2, starts: sustained POST /v1/recoveries through the real API, each answered only once the
// workflow has started and triage has run on the worker (the 202 carries the triage outcome).
// (a) against a Temporal dev server on a WAL SQLite file; (b) against a Temporal server on
// Postgres built with `go install` (scripts/provision/temporal-server.sh).
import { performance } from 'node:perf_hooks';
import { closedLoop } from '../testkit/load';
import { seedPrincipal } from '../testkit/seed';
import { describeCpu, startCpuProbe } from './lib/cpu';
import { getShared, startBenchEngine, type BenchEngine } from './lib/engine';
import { accountOp, startRecovery } from './lib/flows';
import { AccountPool, createTenants, seedAccounts } from './lib/seed';
import { startTemporalOnPostgres } from './lib/temporal-server';
import { envInt, fmtMs, fmtNum, summarize, type BenchContext, type Row } from './lib/util';

export async function starts(ctx: BenchContext): Promise<Row[]> {
  const e = await startBenchEngine({ label: 'starts' });
  try {
    return await measureStarts(ctx, e, { item: '2a', server: 'dev server, SQLite WAL', target: 20, temporalPid: e.dev!.process.pid!, temporalDbs: [] });
  } finally {
    await e.close();
  }
}

export async function startsPostgres(ctx: BenchContext): Promise<Row[]> {
  const server = await startTemporalOnPostgres(ctx);
  try {
    const e = await startBenchEngine({ label: 'startspg', temporalAddress: server.address });
    try {
      return await measureStarts(ctx, e, {
        item: '2b',
        server: `Temporal ${server.version} on Postgres`,
        target: 50,
        temporalPid: server.pid,
        temporalDbs: server.databases,
      });
    } finally {
      await e.close();
    }
  } finally {
    await server.stop();
  }
}

async function measureStarts(
  ctx: BenchContext,
  e: BenchEngine,
  o: { item: string; server: string; target: number; temporalPid: number; temporalDbs: string[] },
): Promise<Row[]> {
  const seconds = envInt('BENCH_STARTS_SECONDS', ctx.quick ? 5 : 60);
  const lanes = envInt('BENCH_STARTS_CONNECTIONS', 16);
  const tenantCount = envInt('BENCH_TENANTS', 4);
  const warmup = ctx.quick ? 2 : 5;
  // Enough accounts for 150 starts/s over the whole window: each account starts once.
  const maxStarts = envInt('BENCH_STARTS_MAX', (seconds + warmup) * 150);
  const perTenant = Math.ceil(maxStarts / tenantCount);

  ctx.log(`starts: seeding ${perTenant * tenantCount} accounts in ${tenantCount} tenants`);
  const tenants = await createTenants(e, 'bench-st', tenantCount);
  const pool = new AccountPool(await seedAccounts(e, tenants, perTenant));
  const agent = await seedPrincipal(e, ['agent'], tenants);

  const op = accountOp(pool, (a) => startRecovery(e, agent.key, a));

  ctx.log(`starts: warm-up ${warmup} s, then ${seconds} s with ${lanes} concurrent clients`);
  await closedLoop({ lanes, seconds: warmup, maxOps: maxStarts, op });
  const t0 = performance.now();
  const shared = await getShared();
  const cpu = await startCpuProbe(
    { temporal: o.temporalPid, worker: e.worker.pid, api: e.apiPid, 'load+sink': process.pid },
    { adminUrl: shared.adminUrl, databases: [e.dbName, ...o.temporalDbs] },
  );
  const r = await closedLoop({ lanes, seconds, maxOps: maxStarts, op });
  await cpu.stop();
  const perStart = cpu.perOp(Math.max(1, r.ok));
  const s = summarize(r.latencies);
  const late = r.notes.triage_late ?? 0;
  ctx.log(
    `starts: ${r.ok} ok (${late} answered "received": triage later than the API's 10 s wait), ${fmtNum(r.rate, 1)}/s in the window, errors ${JSON.stringify(r.errors)}, p50 ${fmtMs(s.p50)} p95 ${fmtMs(s.p95)} p99 ${fmtMs(s.p99)} max ${fmtMs(s.max)}, ${((performance.now() - t0) / 1000).toFixed(1)} s wall`,
  );

  ctx.log(`starts: CPU ms per start: ${describeCpu(perStart)}`);
  const pass = r.rate >= o.target && r.errorCount === 0;
  const errs = r.errorCount
    ? ` (${Object.entries(r.errors)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`
    : '';
  return [
    {
      item: o.item,
      name: `starts via API, ${o.server} (${lanes} clients, ${seconds} s)`,
      figure: `${fmtNum(r.rate, 1)} starts/s, p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)}, p99 ${fmtMs(s.p99)}, errors ${r.errorCount}${errs}${late ? `, triage late ${late}` : ''}`,
      target: `>= ${o.target}/s, 0 errors`,
      verdict: `${fmtNum(r.rate / o.target, 2)}x ${pass ? 'PASS' : 'FAIL'}`,
    },
    {
      item: o.item,
      name: 'CPU ms per start, by process',
      figure: describeCpu(perStart),
      target: '',
      verdict: 'info',
    },
  ];
}
