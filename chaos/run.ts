// `npm run chaos` / `tsx chaos/run.ts [--quick] [--only=a,b] [--seed=N] [--keep]`
//
// Fault drills against the real engine, loopback only: its own Postgres cluster (initdb into a
// temp dir), its own file-backed Temporal dev servers, an in-process SMTP sink with fault
// injection, the API in this process and the worker as a child process. Each scenario prints its
// figures and invariants; a PASS/FAIL table ends the run and the exit code is non-zero when any
// invariant failed. Everything is bounded: per-flow deadlines, bounded fault loops and a global
// timeout after which the run cleans up and exits 2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTemplate } from '../testkit/db';
import { onCleanup, runCleanups } from '../testkit/procs';
import { startRunDevServer } from '../testkit/temporal';
import { startPgCluster } from './lib/pg-cluster';
import { secs, type RunContext, type Scenario, type ScenarioResult } from './lib/scenario';
import { postgresStop } from './scenarios/postgres-stop';
import { smtpFlaky, smtpPermanent } from './scenarios/smtp';
import { temporalRestart } from './scenarios/temporal-restart';
import { workerKill } from './scenarios/worker-kill';

const SCENARIOS: Record<string, Scenario> = {
  'worker-kill': workerKill,
  'temporal-restart': temporalRestart,
  'postgres-stop': postgresStop,
  'smtp-flaky': smtpFlaky,
  'smtp-permanent': smtpPermanent,
};

function parseArgs(argv: string[]) {
  const o = { quick: false, only: Object.keys(SCENARIOS), seed: Date.now() % 1_000_000, keep: false };
  for (const a of argv) {
    if (a === '--quick') o.quick = true;
    else if (a === '--keep') o.keep = true;
    else if (a.startsWith('--only=')) {
      o.only = a
        .slice(7)
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      const unknown = o.only.filter((x) => !SCENARIOS[x]);
      if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    } else if (a.startsWith('--seed=')) o.seed = Number(a.slice(7)) >>> 0;
    else if (a === '--help' || a === '-h') {
      console.log(`usage: tsx chaos/run.ts [--quick] [--only=${Object.keys(SCENARIOS).join(',')}] [--seed=N] [--keep]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return o;
}

const failures = (r: ScenarioResult) => r.invariants.filter((i) => !i.ok && !i.warn);
const passed = (r: ScenarioResult) => !r.error && failures(r).length === 0;

function printResult(r: ScenarioResult) {
  const ok = passed(r);
  console.log(`\n=== ${r.name}: ${ok ? 'PASS' : 'FAIL'} (${secs(r.durationMs)}) ===`);
  console.log(`  ${r.params}`);
  const w = Math.max(0, ...r.figures.map(([k]) => k.length));
  for (const [k, v] of r.figures) console.log(`  ${k.padEnd(w)}  ${v}`);
  console.log('  invariants:');
  for (const i of r.invariants) console.log(`    [${i.ok ? 'PASS' : i.warn ? 'WARN' : 'FAIL'}] ${i.name}${i.detail ? `: ${i.detail}` : ''}`);
  if (r.error) console.log(`  scenario error: ${r.error}`);
  if ((!ok || r.invariants.some((i) => !i.ok)) && r.evidence.length) {
    console.log('  evidence:');
    for (const e of r.evidence) console.log(`    ${e.replace(/\n/g, '\n      ')}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const globalMs = args.quick ? 10 * 60_000 : 90 * 60_000;
  const timer = setTimeout(() => {
    console.error(`\nchaos: the run exceeded its ${secs(globalMs)} bound; cleaning up`);
    void runCleanups({ who: 'chaos' }).finally(() => process.exit(2));
  }, globalMs);
  timer.unref();
  // A bug in this runner must not leave servers behind.
  process.once('uncaughtException', (err) => {
    console.error(`\nchaos: uncaught exception in the runner: ${err?.stack ?? err}; cleaning up`);
    void runCleanups({ who: 'chaos' }).finally(() => process.exit(1));
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\nchaos: ${sig}; cleaning up`);
      void runCleanups({ who: 'chaos' }).finally(() => process.exit(130));
    });
  }

  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-run-'));
  let keepDir = args.keep;
  onCleanup(`remove ${runDir}`, () => {
    if (keepDir) console.log(`chaos: logs kept in ${runDir}`);
    else fs.rmSync(runDir, { recursive: true, force: true });
  });
  console.log(`chaos: ${args.quick ? 'quick' : 'full'} run of ${args.only.join(', ')} (seed ${args.seed}); work dir ${runDir}`);

  // The run's own Postgres cluster and a migrated template every scenario clones.
  // Not under runDir: that is private to this user, and the cluster runs as `postgres`.
  const cluster = await startPgCluster();
  const template = await createTemplate(cluster.adminUrl, 'chaos_tpl');
  console.log(`chaos: postgres cluster on 127.0.0.1:${cluster.port} (${cluster.dir}), template ${template} migrated`);

  // A file-backed dev server shared by the scenarios that do not restart it.
  const dev = await startRunDevServer({ dbFile: path.join(runDir, 'temporal.db'), logFile: path.join(runDir, 'temporal.log') });
  console.log(`chaos: temporal dev server on ${dev.address} (setup took ${secs(Date.now() - t0)})`);

  const ctx: RunContext = { quick: args.quick, runDir, cluster, template, temporalAddress: dev.address, seed: args.seed };
  const results: ScenarioResult[] = [];
  for (const name of args.only) {
    const started = Date.now();
    console.log(`\nchaos: ${name} ...`);
    let r: ScenarioResult;
    try {
      const out = await SCENARIOS[name](ctx);
      r = { name, ...out, durationMs: Date.now() - started };
    } catch (err) {
      r = { name, params: '', figures: [], invariants: [], evidence: [], durationMs: Date.now() - started, error: (err as Error)?.stack ?? String(err) };
    }
    results.push(r);
    printResult(r);
  }

  const failed = results.filter((r) => !passed(r));
  if (failed.length) keepDir = true;
  console.log(`\n${'scenario'.padEnd(18)} ${'result'.padEnd(6)} ${'invariants'.padEnd(10)} ${'time'.padStart(8)}  failed`);
  for (const r of results) {
    const bad = failures(r).map((i) => i.name);
    if (r.error) bad.unshift(`error: ${r.error.split('\n')[0]}`);
    const warns = r.invariants.filter((i) => !i.ok && i.warn).map((i) => `(warn) ${i.name}`);
    const hard = r.invariants.filter((i) => !i.warn);
    const pass = hard.filter((i) => i.ok).length;
    console.log(
      `${r.name.padEnd(18)} ${(bad.length ? 'FAIL' : 'PASS').padEnd(6)} ${`${pass}/${hard.length}`.padEnd(10)} ${secs(r.durationMs).padStart(8)}  ${[...bad, ...warns].join('; ')}`,
    );
  }
  console.log(`\nchaos: ${failed.length ? `FAIL (${failed.length} of ${results.length} scenarios)` : 'PASS'} in ${secs(Date.now() - t0)}`);
  await runCleanups({ who: 'chaos' });
  clearTimeout(timer);
  process.exit(failed.length ? 1 : 0);
}

main().catch(async (err) => {
  console.error(`chaos: ${(err as Error)?.stack ?? err}`);
  await runCleanups({ who: 'chaos' });
  process.exit(1);
});
