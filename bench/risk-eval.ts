// `npm run risk:eval -- [--seed=N] [--accounts=M] [--weeks=W] [--tenants=T] [--attacks=A] [--sample=K] [--assert] [--breakdown]`
//
// Generates a world (testkit/riskgen), stands up a real engine as the benchmarks do (API and worker
// processes, a Temporal dev server, a database cloned from a migrated template), replays the
// world through the HTTP API and prints recall per attack type, false-positive rates, assessment
// latency and ingestion throughput, each with its target. --assert: exit 1 when a target fails.
import os from 'node:os';
import { breakdown, EVAL_HEAD, evaluationRows, figures, passed, recoverySample, replay, setUpEvaluation } from '../testkit/risk-eval';
import { generateScenario } from '../testkit/riskgen';
import { runCleanups } from '../testkit/procs';
import { renderTable } from '../testkit/table';
import { startBenchEngine } from './lib/engine';

function parseArgs(argv: string[]) {
  const o = { seed: 2, accounts: 3000, weeks: 4, tenants: undefined as number | undefined, attacks: 12, sample: 40, assert: false, breakdown: false };
  for (const a of argv) {
    const m = /^--(seed|accounts|weeks|tenants|attacks|sample)=(\d+)$/.exec(a);
    if (m) o[m[1] as 'seed' | 'accounts' | 'weeks' | 'tenants' | 'attacks' | 'sample'] = Number(m[2]);
    else if (a === '--assert') o.assert = true;
    else if (a === '--breakdown') o.breakdown = true;
    else
      throw new Error(
        `unknown argument ${a}: --seed=N --accounts=M --weeks=W --tenants=T --attacks=A (per 1,000 accounts, each family) --sample=K --assert --breakdown`,
      );
  }
  if (o.weeks < 2 || o.weeks > 50) throw new Error('--weeks: 2 to 50 (events older than 400 days are refused)');
  if (o.accounts < 50) throw new Error('--accounts: at least 50');
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (msg: string) => process.stderr.write(`[risk:eval ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void runCleanups({ who: 'risk:eval' }).then(() => process.exit(130)));

  // The world ends a few minutes ago: events may not be ahead of the server's clock.
  const scenario = generateScenario({
    seed: o.seed,
    accounts: o.accounts,
    weeks: o.weeks,
    tenants: o.tenants,
    attacksPerThousand: o.attacks,
    end: Date.now() - 5 * 60_000,
  });
  const events = scenario.steps.filter((s) => 'event' in s).length;
  log(
    `seed ${o.seed}: ${o.accounts} accounts in ${scenario.tenants.length} tenants, ${o.weeks} weeks, ${events} events, ${scenario.steps.length - events} reset requests`,
  );
  const engine = await startBenchEngine({ label: 'riskeval' });
  const target = { http: engine.http, adminKey: engine.adminKey, sink: engine.sink };
  const loadAtStart = os.loadavg()[0];
  const keys = await setUpEvaluation(target, scenario);
  log('tenants, accounts and keys created; replaying');
  const r = await replay(target, scenario, keys, { log });
  log(`replayed in ${(r.wallMs / 1000).toFixed(0)} s; sending the recoveries sample`);
  const sample = await recoverySample(target, scenario, keys, o.sample);
  const rows = evaluationRows(figures(r), r, sample);
  await engine.close();

  const title =
    `Risk evaluation, seed ${o.seed}, ${o.accounts} accounts, ${scenario.tenants.length} tenants, ${o.weeks} weeks, ${o.attacks} attacks per 1,000 accounts per family; ${new Date().toISOString()}, ` +
    `node ${process.version}, ${os.cpus().length} CPUs, load average ${loadAtStart.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end, ${((Date.now() - started) / 1000).toFixed(0)} s`;
  process.stdout.write(`\n${title}\n\n${renderTable(rows, EVAL_HEAD)}\n\n`);
  process.stdout.write(`recoveries sample answers: ${JSON.stringify(sample.statuses)}\n`);
  if (o.breakdown) process.stdout.write(`\nmisses and false positives by story:\n${breakdown(r) || '  none'}\n`);
  await runCleanups({ who: 'risk:eval' });
  process.exit(o.assert && !passed(rows) ? 1 : 0);
}

main().catch(async (err) => {
  console.error(err);
  await runCleanups({ who: 'risk:eval' });
  process.exit(1);
});
