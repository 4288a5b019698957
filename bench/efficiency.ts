// Item 5, efficiency: recovery state transitions per second at saturation, next to the physical
// floor measured in the same run: pgbench's single-row INSERT rate (one client) on the same
// Postgres. A transition is one recordTransition activity (read model update + hash-chained
// audit event, one transaction), i.e. one audit event carrying `workflowTime`. The load is full
// password resets in a closed loop: request, Tier 1, link mail, redemption, completion notice.
import { performance } from 'node:perf_hooks';
import { describeCpu, startCpuProbe } from './lib/cpu';
import { pgbenchInsertRate } from '../testkit/floors';
import { transitionsBetween } from '../testkit/inspect-audit';
import { closedLoop } from '../testkit/load';
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

  const shared = await getShared();
  const floor = await pgbenchInsertRate({ adminUrl: shared.adminUrl, workDir: shared.workDir, seconds: pgbenchSeconds, log: (line) => ctx.log(line) });
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
    const cpu = await startCpuProbe(
      { temporal: e.dev!.process.pid!, worker: e.worker.pid, api: e.apiPid, 'load+sink': process.pid },
      { adminUrl: shared.adminUrl, databases: [e.dbName] },
    );
    const r = await closedLoop({ lanes, seconds, maxOps: maxFlows, op });
    await cpu.stop();
    const window = (performance.now() - t0) / 1000;
    const to = new Date();
    // Transitions recorded by the workflows (enter(): details carry workflowTime) in the window.
    const { transitions, events } = await transitionsBetween(e.db, from, to);
    const tps = transitions / window;
    const ratio = tps / floor.tps;
    const s = summarize(r.latencies);
    ctx.log(
      `efficiency: ${transitions} transitions, ${events} audit events in ${window.toFixed(1)} s; ${r.ok} resets ok (p50 ${fmtMs(s.p50)}), errors ${JSON.stringify(r.errors)}`,
    );
    const perTransition = cpu.perOp(Math.max(1, transitions));
    ctx.log(`efficiency: CPU ms per transition: ${describeCpu(perTransition)}`);
    const errs = r.errorCount
      ? `, errors ${r.errorCount} (${Object.entries(r.errors)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`
      : '';
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
