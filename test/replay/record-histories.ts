// Records one history per path of every workflow into test/fixtures/histories/<VERSION>/, for
// the replay test. Bump VERSION (and keep the older folders) when a patch changes the commands. Run with `npm run record-histories` after an intended workflow change (and a
// patch, if old histories must still replay). Drives the real workflow on the time-skipping server,
// through the paths the audit coverage test walks too (testkit/recorded-paths.ts).
import { after, before, it } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { startHarness, type Harness } from '../../testkit/engine';
import { decodedHistory } from '../../testkit/history';
import { driveRecordedPath, RECORDED_PATHS } from '../../testkit/recorded-paths';
import { workflowBundle } from '../../boot/worker';

const VERSION = 'v4';
const OUT = path.join(__dirname, '..', 'fixtures', 'histories', VERSION);
let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
  fs.mkdirSync(OUT, { recursive: true });
});
after(async () => {
  await h?.close();
});

for (const p of RECORDED_PATHS) {
  it(`records ${p.name}`, async () => {
    const c = await driveRecordedPath(h, p);
    // Stored decrypted, so the fixtures replay whatever the payload keys of a later run are.
    const history = await decodedHistory(h.client, h.config.payloadKeys, c.workflowId, c.runId);
    // A history the code that wrote it cannot replay is a workflow bug, not a fixture.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, p.name);
    // Binary protobuf: the exact bytes the server sent, independent of JSON mapping quirks.
    fs.writeFileSync(path.join(OUT, `${p.name}.binpb`), temporal.api.history.v1.History.encode(history).finish());
  });
}
