// `npm run bench`: runs the selected benchmarks one after another, then prints one table.
//
//   tsx bench/run.ts [--quick] [--only=api,starts,starts-pg,e2e,parked,efficiency,export,risk] [--json=FILE]
//
// --quick runs the small versions (a few seconds each) for CI. Benchmarks report, they do not
// fail the build: the exit code is 0 unless a benchmark crashed (or the run was interrupted).
// Every load targets 127.0.0.1 only. See bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import { apiOverhead } from './api-overhead';
import { auditExport } from './audit-export';
import { e2e } from './e2e';
import { efficiency } from './efficiency';
import { parked } from './parked';
import { risk } from './risk';
import { cleanupMark, runCleanups } from '../testkit/procs';
import { getShared } from './lib/engine';
import { renderTable, type Bench, type BenchContext, type Row } from './lib/util';
import { starts, startsPostgres } from './starts';

const BENCHES: Record<string, { item: string; title: string; run: Bench }> = {
  api: { item: '1', title: 'API overhead', run: apiOverhead },
  starts: { item: '2a', title: 'starts, dev server (SQLite WAL)', run: starts },
  'starts-pg': { item: '2b', title: 'starts, Temporal server on Postgres', run: startsPostgres },
  e2e: { item: '3', title: 'end to end', run: e2e },
  parked: { item: '4', title: 'parked workflows', run: parked },
  efficiency: { item: '5', title: 'efficiency', run: efficiency },
  export: { item: '14', title: 'audit export', run: auditExport },
  risk: { item: '15', title: 'risk: events in and assessment', run: risk },
};

function parseArgs(argv: string[]) {
  let quick = false;
  let only: string[] | null = null;
  let json: string | null = null;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a.startsWith('--only='))
      only = a
        .slice(7)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a.startsWith('--json=')) json = a.slice(7);
    else if (a === '--help' || a === '-h') {
      console.log(`usage: tsx bench/run.ts [--quick] [--only=${Object.keys(BENCHES).join(',')}] [--json=FILE]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  for (const name of only ?? []) if (!BENCHES[name]) throw new Error(`--only: no benchmark "${name}" (${Object.keys(BENCHES).join(', ')})`);
  // Always in the order of the table (1, 2a, 2b, 3, 4, 5, 14), whatever the order of --only.
  const selected = Object.keys(BENCHES).filter((k) => !only || only.includes(k));
  return { quick, selected, json };
}

async function main() {
  const { quick, selected, json } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  // Other load on the machine shows up in every figure; the table says how busy it was.
  const loadAtStart = os.loadavg()[0];
  const ctx: BenchContext = { quick, log: (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`) };
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      interrupted = true;
      ctx.log(`${sig}: stopping what this run started`);
      void runCleanups({ who: 'bench' }).then(() => process.exit(130));
    });
  }

  const rows: Row[] = [];
  const cleanupFailures: string[] = [];
  let crashed = 0;
  ctx.log(`${quick ? 'quick' : 'full'} run of: ${selected.join(', ')}`);
  // The migrated template database and the temp folder live for the whole run; anything a
  // benchmark starts or creates after this mark is stopped and dropped when it ends.
  await getShared();
  const mark = cleanupMark();
  for (const name of selected) {
    const b = BENCHES[name];
    const t0 = Date.now();
    ctx.log(`== ${b.item} ${b.title} ==`);
    try {
      rows.push(...(await b.run(ctx)));
    } catch (err) {
      crashed++;
      const e = err as Error;
      ctx.log(`${name} crashed: ${e.stack ?? e.message}`);
      rows.push({ item: b.item, name: b.title, figure: `CRASHED: ${e.message.split('\n')[0].slice(0, 120)}`, target: '', verdict: 'CRASH' });
    } finally {
      // Whatever the benchmark left running or created is stopped and dropped before the next.
      cleanupFailures.push(...(await runCleanups({ mark, who: 'bench' })));
    }
    ctx.log(`${name} took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (interrupted) break;
  }
  cleanupFailures.push(...(await runCleanups({ who: 'bench' })));

  const title =
    `Benchmarks (${quick ? 'quick' : 'full'}), ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} CPUs, ` +
    `load average ${loadAtStart.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end, ${((Date.now() - started) / 1000).toFixed(0)} s`;
  process.stdout.write(`\n${title}\n\n${renderTable(rows)}\n\n`);
  if (cleanupFailures.length) process.stdout.write(`cleanup left something behind:\n${cleanupFailures.map((f) => `  - ${f}`).join('\n')}\n\n`);
  if (json) fs.writeFileSync(json, JSON.stringify({ title, quick, rows }, null, 2) + '\n');
  process.exit(crashed ? 1 : 0);
}

main().catch(async (err) => {
  console.error(err);
  await runCleanups({ who: 'bench' });
  process.exit(1);
});
