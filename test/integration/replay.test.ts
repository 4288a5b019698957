// Recorded histories of every path replay against today's workflow code without
// non-determinism. Record them anew with `npm run record-histories` after an intended change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../worker/worker';

const DIR = path.join(__dirname, '..', 'fixtures', 'histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.binpb')).sort();

describe('recorded histories replay without non-determinism', () => {
  it('covers every path of the recovery workflow', () => {
    assert.ok(files.length >= 12, `${files.length} recorded paths`);
  });

  for (const file of files) {
    it(`replays ${file.replace(/\.binpb$/, '')}`, async () => {
      const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
    });
  }
});
