// The prebuilt workflow bundle: npm test builds one for the run and every worker reads it; a path
// that cannot be read stops the worker with the variable's name, never a silent rebuild.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkflowBundle, PREBUILT_BUNDLE_VARIABLE, workflowBundle } from '../../boot/worker';

describe('a prebuilt workflow bundle', () => {
  it('is read from the path the variable names, as it is', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
    const file = path.join(dir, 'workflow-bundle.js');
    fs.writeFileSync(file, 'var __TEMPORAL__ = { marker: 42 };');
    const b = await loadWorkflowBundle({ [PREBUILT_BUNDLE_VARIABLE]: file });
    assert.equal(b.code, 'var __TEMPORAL__ = { marker: 42 };');
    fs.rmSync(dir, { recursive: true });
  });

  it('that cannot be read is an error naming the variable and the path', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir-xyz', 'workflow-bundle.js');
    await assert.rejects(loadWorkflowBundle({ [PREBUILT_BUNDLE_VARIABLE]: missing }), (err: Error) => {
      assert.match(err.message, new RegExp(`^${PREBUILT_BUNDLE_VARIABLE}: `));
      assert.ok(err.message.includes(missing));
      return true;
    });
  });

  it('the workflows bundle no validation library: zod is evaluated again for every workflow a worker starts', async () => {
    const { code } = await workflowBundle();
    assert.ok(code.includes('./workflows/index.ts'), 'the bundle holds the workflows');
    assert.ok(!code.includes('node_modules/zod/'), 'zod is in the workflow bundle: a module the workflows import brings it');
  });
});
