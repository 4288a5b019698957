// Item 3, end to end: an automated low-risk password reset, from the agent's request to the link
// email received by the SMTP sink. Each flow: POST /v1/recoveries (triage answers "verifying"),
// POST verifications Tier 1 (passes), then the workflow issues the link and the mail arrives.
// Open loop at a fixed arrival rate (5 flows/s), second-scale tenant policy so links expire and
// workflows close within the run instead of piling up.
import { performance } from 'node:perf_hooks';
import { openLoop } from '../testkit/load';
import { seedPrincipal } from '../testkit/seed';
import { startBenchEngine } from './lib/engine';
import { accountOp, startAndTriage, verifyTier1, waitForLinkMail } from './lib/flows';
import { AccountPool, createTenants, seedAccounts } from './lib/seed';
import { envInt, fmtMs, fmtNum, summarize, type BenchContext, type Row } from './lib/util';

/** Dev-mode policy: seconds, not the production 15 min / 1 h. */
export const SECOND_SCALE_POLICY = { tokenTtlSeconds: 30, verificationWindowSeconds: 60 };

export async function e2e(ctx: BenchContext): Promise<Row[]> {
  const seconds = envInt('BENCH_E2E_SECONDS', ctx.quick ? 5 : 60);
  const rate = envInt('BENCH_E2E_RATE', 5);
  const tenantCount = envInt('BENCH_TENANTS', 4);
  const flows = seconds * rate;

  const e = await startBenchEngine({ label: 'e2e' });
  try {
    const tenants = await createTenants(e, 'bench-e2e', tenantCount, SECOND_SCALE_POLICY);
    const perTenant = Math.ceil((flows + rate * 2) / tenantCount);
    ctx.log(`e2e: seeding ${perTenant * tenantCount} accounts`);
    const pool = new AccountPool(await seedAccounts(e, tenants, perTenant));
    const agent = await seedPrincipal(e, ['agent'], tenants);

    const op = accountOp(pool, async (a) => {
      const t0 = performance.now();
      // A late triage answer ("received") is polled, as an agent would; the clock keeps running.
      const { id, late } = await startAndTriage(e, agent.key, a);
      await verifyTier1(e, agent.key, id);
      const { at } = await waitForLinkMail(e, a);
      return { late, ms: at - t0 };
    });

    // A short warm-up at the same rate (JIT, connection pools, workflow bundle caches).
    await openLoop({ rate, seconds: 2, op });
    ctx.log(`e2e: ${rate} flows/s for ${seconds} s (${flows} flows)`);
    const r = await openLoop({ rate, seconds, op });
    const s = summarize(r.latencies);
    const late = r.notes.triage_late ?? 0;
    ctx.log(
      `e2e: ${r.ok}/${r.started} ok (${late} with triage later than the API's 10 s wait, then polled), errors ${JSON.stringify(r.errors)}, starts behind schedule ${r.lateStarts}, p50 ${fmtMs(s.p50)} p95 ${fmtMs(s.p95)} p99 ${fmtMs(s.p99)} max ${fmtMs(s.max)}`,
    );
    const errs = r.errorCount
      ? ` (${Object.entries(r.errors)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`
      : '';
    return [
      {
        item: '3',
        name: `request -> link mail, low risk (${rate}/s for ${seconds} s)`,
        figure: `p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)}, max ${fmtMs(s.max)}; ${fmtNum(r.ok)}/${fmtNum(r.started)} ok, errors ${r.errorCount}${errs}${late ? `, triage late ${late}` : ''}`,
        target: 'p50, p95 (report)',
        verdict: r.errorCount === 0 ? 'info' : 'ERRORS',
      },
    ];
  } finally {
    await e.close();
  }
}
