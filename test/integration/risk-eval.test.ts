// A small risk evaluation on a fixed seed (the CI form of `npm run risk:eval`): a generated world
// replayed through the real API (POST /v1/events, POST /v1/risk/assess, a sample through
// POST /v1/recoveries) on a real engine, scored against the ground truth.
//
// Asserted: recall >= 95% for every attack type, legitimate refusals <= 1% and escalations <= 5%
// (per kind of action and overall), and no rejected event or failed assessment. Printed, not
// asserted: assessment latency and ingestion throughput. The suite runs its files side by side on
// a shared 2-core machine with an in-process engine, so those figures move with whatever else runs;
// `npm run risk:eval` measures them on an engine of its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { breakdown, EVAL_HEAD, evaluationRows, figures, recoverySample, replay, setUpEvaluation, type ReplayResult } from '../../testkit/risk-eval';
import { generateScenario } from '../../testkit/riskgen';
import { renderTable, type Row } from '../../testkit/table';

const SEED = 7;

let h: Harness;
let r: ReplayResult;
let rows: Row[];
before(async () => {
  h = await startHarness();
  // 300 accounts over 3 weeks (about 30,000 events), with more attacks per account than the full
  // run so every family has a few dozen scored actions.
  const scenario = generateScenario({ seed: SEED, accounts: 300, weeks: 3, attacksPerThousand: 70, end: Date.now() - 5 * 60_000 });
  const target = { http: h.http, adminKey: h.adminKey, sink: h.sink };
  const keys = await setUpEvaluation(target, scenario);
  r = await replay(target, scenario, keys);
  const sample = await recoverySample(target, scenario, keys, 10);
  rows = evaluationRows(figures(r), r, sample);
  console.log(`risk evaluation, seed ${SEED}\n${renderTable(rows, EVAL_HEAD)}\nmisses and false positives by story:\n${breakdown(r) || '  none'}`);
});
after(async () => {
  await h?.close();
});

const row = (item: string, name: string) => rows.find((x) => x.item === item && x.name === name)!;

describe('the risk engine on a generated world (seed 7)', () => {
  for (const attack of ['stuffing_storm', 'vishing', 'session_hijack', 'mfa_takeover']) {
    it(`refuses, escalates, holds or revokes at least 95% of ${attack} actions`, () => {
      const x = row('recall', attack);
      assert.equal(x.verdict, 'PASS', `${attack}: ${x.figure}`);
    });
  }

  for (const kind of ['all legitimate actions', 'reset requests', 'MFA enrolments', 'session uses from another address']) {
    it(`refuses at most 1% and escalates at most 5% of ${kind}`, () => {
      const refused = row('legit refused', kind);
      const escalated = row('legit escalated', kind);
      assert.equal(refused.verdict, 'PASS', `refused: ${refused.figure}`);
      assert.equal(escalated.verdict, 'PASS', `escalated: ${escalated.figure}`);
    });
  }

  it('accepts every event and answers every assessment', () => {
    assert.equal(r.rejectedEvents, 0);
    assert.deepEqual(r.assessErrors, {});
    assert.ok(r.assessMs.length > 20, `${r.assessMs.length} assessments`);
  });
});
