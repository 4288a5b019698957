// Recorded histories of every path of every workflow replay against today's code without
// non-determinism; a deliberately changed workflow must fail. Record anew with
// `npm run record-histories` after an intended change (and a patch for histories in flight).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../../boot/worker';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'test', 'fixtures', 'histories');
// One folder per workflow code version that has histories in the wild: v1 published a state
// before recording it; v2 (patch `record-transition-before-publishing`) records first; v3 (patch
// `local-bookkeeping`) runs triage facts, transitions and redemption checks as local activities;
// v4 (patch `lean-risk-response`) applies a risk response that changes only the engine's records
// as a local activity and tells the contacts and the webhook in one activity task.
const VERSIONS = fs
  .readdirSync(DIR)
  .filter((d) => fs.statSync(path.join(DIR, d)).isDirectory())
  .sort();
const filesOf = (v: string) =>
  fs
    .readdirSync(path.join(DIR, v))
    .filter((f) => f.endsWith('.binpb'))
    .sort();
const load = (file: string) => temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
/** A recorded history's activity tasks by type, in order, and how many local activities it ran. */
function activitySteps(v: string, file: string): { tasks: string[]; markers: number } {
  const events = load(path.join(v, file)).events ?? [];
  return {
    tasks: events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []),
    markers: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
  };
}

describe('recorded histories replay without non-determinism', () => {
  it('cover every path of every workflow, for every version', () => {
    assert.deepEqual(VERSIONS, ['v1', 'v2', 'v3', 'v4']);
    const later = ['invitation-', 'risk-', 'access-review-'];
    const recovery = (f: string) => !f.startsWith('access-') && !later.some((p) => f.startsWith(p));
    const emergency = (f: string) => f.startsWith('access-') && !f.startsWith('access-review-');
    for (const v of VERSIONS) {
      assert.ok(filesOf(v).filter(recovery).length >= 12, `${v}: recovery paths`);
      assert.ok(filesOf(v).filter(emergency).length >= 6, `${v}: emergency-access paths`);
    }
    // The invitation, risk-response and access-review workflows came after the third version: their
    // paths are recorded from v3 on.
    for (const v of ['v3', 'v4'])
      assert.deepEqual(
        filesOf(v).filter((f) => later.some((p) => f.startsWith(p))),
        [
          'access-review-report.binpb',
          'access-review-suspend.binpb',
          'invitation-expired.binpb',
          'invitation-registered.binpb',
          'risk-enrolment-held-reversed.binpb',
          'risk-hijack-acknowledged.binpb',
          'risk-password-change-closed.binpb',
        ],
        v,
      );
    // Every path recorded before a patch is recorded after it too.
    for (const [older, newer] of [
      ['v1', 'v2'],
      ['v2', 'v3'],
      ['v3', 'v4'],
    ]) {
      for (const f of filesOf(older)) assert.ok(filesOf(newer).includes(f), `${newer} has ${f}`);
    }
  });

  it('v3 records main-path bookkeeping as local-activity markers, not activity tasks', () => {
    const bookkeeping = new Set(['assessRecovery', 'recordTransition', 'recordGrantTransition']);
    const count = (v: string, file: string) => {
      const { tasks, markers } = activitySteps(v, file);
      return { tasks: tasks.filter((t) => bookkeeping.has(t)).length, markers };
    };
    for (const file of ['password-reset-completed.binpb', 'access-break-glass-completed-late-review.binpb']) {
      const [before, after] = [count('v2', file), count('v3', file)];
      assert.equal(before.markers, 0, `v2/${file}: no local activities`);
      assert.ok(after.markers > 0 && after.tasks < before.tasks, `v3/${file}: ${JSON.stringify(after)} vs v2 ${JSON.stringify(before)}`);
    }
    // The recovery records every transition from its main path; an approval's record stays an
    // activity task in the emergency-access workflow, as it runs in an update handler.
    assert.equal(count('v3', 'password-reset-completed.binpb').tasks, 0);
  });

  it("v4 applies a risk response of the engine's own records locally and tells of it in one activity task", () => {
    const steps = activitySteps;
    // An enrolment held, then reversed by an admin: the reversal stays an activity task (an update handler's).
    const [heldBefore, held] = [steps('v3', 'risk-enrolment-held-reversed.binpb'), steps('v4', 'risk-enrolment-held-reversed.binpb')];
    assert.deepEqual(heldBefore.tasks, ['applyRiskResponse', 'confirmAttestation', 'notifySecurityWebhook', 'decideRiskResponse']);
    assert.deepEqual(held.tasks, ['tellOfRiskResponse', 'confirmAttestation', 'decideRiskResponse']);
    assert.equal(held.markers, 1, 'applied as a local activity');
    // A hijacked session's revocation goes to the tenant's directory: still an activity task.
    // (The admin's acknowledgement, an update handler's tasks, lands between them in either order.)
    const mainPath = (v: string) => steps(v, 'risk-hijack-acknowledged.binpb').tasks.filter((t) => !['confirmAttestation', 'decideRiskResponse'].includes(t));
    assert.deepEqual(mainPath('v3'), ['applyRiskResponse', 'alertRiskResponse', 'notifySecurityWebhook']);
    assert.deepEqual(mainPath('v4'), ['applyRiskResponse', 'tellOfRiskResponse']);
  });

  for (const v of VERSIONS) {
    for (const file of filesOf(v)) {
      it(`replays ${v}/${file.replace(/\.binpb$/, '')}`, async () => {
        await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, load(path.join(v, file)), file);
      });
    }
  }
});

describe('a changed workflow fails replay', () => {
  it('one extra timer before triage makes a recorded recovery non-deterministic', async () => {
    // A mutant copy inside the project, so its imports resolve; removed afterwards.
    const dir = fs.mkdtempSync(path.join(ROOT, 'test', 'fixtures', '.mutant-'));
    try {
      const original = fs.readFileSync(path.join(ROOT, 'workflows', 'recovery.ts'), 'utf8');
      const anchor = '  show();\n  const assessment = await books.assessRecovery';
      assert.ok(original.includes(anchor), 'the mutation point exists');
      const mutant = original
        .replace(anchor, '  show();\n  await wf.sleep(1);\n  const assessment = await books.assessRecovery')
        .replace(/from '\.\.\//g, `from '${ROOT}/`)
        .replace(/from '\.\//g, `from '${ROOT}/workflows/`);
      fs.writeFileSync(path.join(dir, 'index.ts'), mutant);
      const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
      const bundle = await bundleWorkflowCode({ workflowsPath: path.join(dir, 'index.ts'), logger: quiet });
      await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, load('v4/password-reset-completed.binpb'), 'mutant'), DeterminismViolationError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
