// Item 1, API overhead: POST /v1/recoveries through the real app with only the Temporal client
// stubbed (Postgres stays real: auth lookup, rate-limit slot, insert, run id update, audit),
// against a bare Fastify route, both under autocannon with the same connections and no
// pipelining, one after the other in the same run.
import fs from 'node:fs';
import path from 'node:path';
import { cloneDatabase } from '../testkit/db';
import { newAdminKey, testEngineEnv } from '../testkit/env';
import { ApiClient } from '../testkit/http';
import { ROOT, spawnTs } from '../testkit/procs';
import { recoveryBody, seedPrincipal, seedTenant } from '../testkit/seed';
import { benchNodeArgs, getShared } from './lib/engine';
import { httpLoad, type HttpLoadResult } from './lib/http-load';
import { envInt, fmtMs, fmtNum, type BenchContext, type Row } from './lib/util';

export async function apiOverhead(ctx: BenchContext): Promise<Row[]> {
  const seconds = envInt('BENCH_API_SECONDS', ctx.quick ? 5 : 20);
  const warmup = ctx.quick ? 1 : 3;
  const connections = envInt('BENCH_API_CONNECTIONS', 10);
  const tenantCount = envInt('BENCH_TENANTS', 4);

  const s = await getShared();
  const database = await cloneDatabase(s.adminUrl, s.template, 'bench_api');
  const dir = fs.mkdtempSync(path.join(s.workDir, 'api-'));
  const adminKey = newAdminKey();
  const servers = spawnTs('api-overhead servers', path.join(ROOT, 'bench', 'api-overhead-server.ts'), {
    env: { ...testEngineEnv({ dataDir: dir, adminKey }), DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
    logFile: path.join(dir, 'servers.log'),
    nodeArgs: benchNodeArgs(),
  });
  try {
    const ports = await servers.waitForLine(
      (l) => (l.startsWith('{"benchServers"') ? (JSON.parse(l).benchServers as { bare: number; floor: number; real: number }) : undefined),
      90_000,
    );
    const bareUrl = `http://127.0.0.1:${ports.bare}`;
    const realUrl = `http://127.0.0.1:${ports.real}`;
    const floorUrl = `http://127.0.0.1:${ports.floor}`;

    const realApp = { http: new ApiClient(realUrl, { timeoutMs: 60_000 }), adminKey };
    const tenants: string[] = [];
    for (let i = 0; i < tenantCount; i++) tenants.push(await seedTenant(realApp, 'local', `bench-api-${i}`));
    const agent = await seedPrincipal(realApp, ['agent'], tenants);

    // Distinct account and client IP per request: no 409 (one active recovery per account) and
    // no 429 (per-IP limit). The stub never runs triage, so accounts need not exist.
    let n = 0;
    const body = () => {
      const i = n++;
      return recoveryBody(tenants[i % tenants.length], `acct-${i}`, { ticketRef: `T-${i}` });
    };
    const headers = { authorization: `Bearer ${agent.key}` };
    const run = (url: string, secs: number) => httpLoad({ url, path: '/v1/recoveries', connections, seconds: secs, headers, body });

    ctx.log(`api: warm-up ${warmup} s each, then ${seconds} s each, ${connections} connections`);
    await run(bareUrl, warmup);
    await run(floorUrl, warmup);
    await run(realUrl, warmup);
    const bare = await run(bareUrl, seconds);
    const floor = await run(floorUrl, seconds);
    const real = await run(realUrl, seconds);
    ctx.log(`api: bare ${describe(bare)}`);
    ctx.log(`api: floor ${describe(floor)}`);
    ctx.log(`api: real ${describe(real)}`);

    const ratio = real.rps / bare.rps;
    const errors = real.errors + real.non2xx;
    const conf = `${connections} conns, ${seconds} s`;
    return [
      { item: '1', name: `bare Fastify route (${conf})`, figure: `${fmtNum(bare.rps)} req/s, p99 ${fmtMs(bare.p99)}`, target: '', verdict: 'info' },
      {
        item: '1',
        name: `bare route + one INSERT, the commit floor (${conf})`,
        figure: `${fmtNum(floor.rps)} req/s, p50 ${fmtMs(floor.p50)}, p99 ${fmtMs(floor.p99)}`,
        target: '',
        verdict: `info; bare/floor ${fmtNum(bare.rps / floor.rps, 1)}x`,
      },
      {
        item: '1',
        name: `POST /v1/recoveries, Temporal stubbed (${conf})`,
        figure: `${fmtNum(real.rps)} req/s, p50 ${fmtMs(real.p50)}, p99 ${fmtMs(real.p99)}, errors ${errors}`,
        target: '>= 0.5x bare; p99 <= 25 ms',
        verdict: `${fmtNum(ratio, 3)}x ${ratio >= 0.5 ? 'PASS' : 'FAIL'}; p99 ${real.p99 <= 25 ? 'PASS' : 'FAIL'}${errors ? '; ERRORS' : ''}; ${fmtNum(real.rps / floor.rps, 2)}x the commit floor`,
      },
    ];
  } finally {
    await servers.stop(5000);
    await database.drop();
  }
}

function describe(r: HttpLoadResult): string {
  return `${fmtNum(r.rps)} req/s over ${r.seconds} s (${r.total} requests), p50 ${r.p50} ms, p90 ${r.p90} ms, p99 ${r.p99} ms, max ${r.max} ms, errors ${r.errors}, status ${JSON.stringify(r.statusCodes)}`;
}
