// Issue 14, export: GET /v1/audit streaming a large chain as JSON lines, CSV and OCSF, in rows/s
// next to a floor measured in the same run (the same rows read by a plain keyset SELECT through
// store/, with no formatting and no HTTP), and the API process's peak RSS (VmHWM) against its
// RSS before: bounded memory means the peak does not grow with the export.
import { performance } from 'node:perf_hooks';
import { auditEventBatches } from '../store/audit';
import { seedAuditEventsSql, seedPrincipal, seedTenant } from '../testkit/seed';
import { rssOf } from './lib/cpu';
import { startBenchEngine } from './lib/engine';
import { envInt, fmtMiB, fmtNum, type BenchContext, type Row } from './lib/util';

/** Reads a streamed export to its end, counting lines; never holds it. */
async function drain(url: string, key: string): Promise<{ lines: number; bytes: number; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  if (r.status !== 200 || !r.body) throw new Error(`export answered ${r.status}: ${await r.text()}`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  return { lines, bytes, ms: performance.now() - t0 };
}

export async function auditExport(ctx: BenchContext): Promise<Row[]> {
  const count = envInt('BENCH_EXPORT_ROWS', ctx.quick ? 20_000 : 1_000_000);
  const e = await startBenchEngine({ label: 'export' });
  try {
    const tenantId = await seedTenant(e, 'local', 'bench-export');
    const auditor = await seedPrincipal(e, ['auditor'], [tenantId]);
    const s0 = performance.now();
    await seedAuditEventsSql(e.db, tenantId, count);
    ctx.log(`export: ${fmtNum(count)} audit events seeded in ${fmtNum((performance.now() - s0) / 1000, 1)} s`);
    // The tenant's own few events come first; an export page holds at most 1,000,000.
    const total = Math.min(count + 10, 1_000_000);

    const f0 = performance.now();
    let floorRows = 0;
    for await (const batch of auditEventBatches(e.db, { tenantId, limit: total })) floorRows += batch.length;
    const floor = floorRows / ((performance.now() - f0) / 1000);
    ctx.log(`export: floor, keyset SELECT of ${fmtNum(floorRows)} rows: ${fmtNum(floor)} rows/s`);

    const rows: Row[] = [];
    for (const format of ['jsonl', 'csv', 'ocsf'] as const) {
      const before = rssOf(e.apiPid);
      const d = await drain(`${e.baseUrl}/v1/audit?tenantId=${tenantId}&format=${format}&limit=${total}`, auditor.key);
      const after = rssOf(e.apiPid);
      const exportedRows = format === 'csv' ? d.lines - 1 : d.lines;
      const rate = exportedRows / (d.ms / 1000);
      ctx.log(
        `export ${format}: ${fmtNum(exportedRows)} rows, ${fmtMiB(d.bytes)} in ${fmtNum(d.ms / 1000, 1)} s: ${fmtNum(rate)} rows/s; ` +
          `API RSS ${fmtMiB(before.rss)} before, peak ${fmtMiB(after.hwm)}`,
      );
      rows.push({
        item: '14',
        name: `audit export ${format}, ${fmtNum(exportedRows)} rows (${fmtMiB(d.bytes)})`,
        figure: `${fmtNum(rate)} rows/s; API peak RSS ${fmtMiB(after.hwm)} (${fmtMiB(before.rss)} before)`,
        target: 'RSS bounded',
        verdict: `${(rate / floor).toFixed(2)}x of a plain keyset read (${fmtNum(floor)} rows/s)`,
      });
    }
    return rows;
  } finally {
    await e.close();
  }
}
