// The README's offline check of an audit export: the block it shows, run as it is with Node
// against a real export, says valid with the head the server computes, and catches an edit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendAudit } from '../../store/audit';
import { startHarness, type Harness } from '../../testkit/engine';
import { seedAccount, seedPrincipal, seedTenant } from '../../testkit/seed';

const README = path.resolve(__dirname, '../../README.md');
const MARKER = '<!-- verify-audit.mjs:';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-audit-'));
});
after(async () => {
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The first ```js block after the marker in the README. */
function readmeScript(): string {
  const text = fs.readFileSync(README, 'utf8');
  const at = text.indexOf(MARKER);
  assert.ok(at >= 0, 'the README has the offline check');
  const m = /```js\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(m, 'a js block follows the marker');
  return m[1];
}

function runScript(exportFile: string, tenantId: string) {
  const script = path.join(dir, 'verify-audit.mjs');
  fs.writeFileSync(script, readmeScript());
  const keys = h.config.auditKeys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
  return spawnSync(process.execPath, [script, exportFile, tenantId, keys], { encoding: 'utf8' });
}

describe("the README's offline check of an export", () => {
  it('says valid, with the head GET /v1/audit/verify computes, for a real export', async () => {
    const tenantId = await seedTenant(h, 'local');
    await seedAccount(h, tenantId);
    await appendAudit(h.db, {
      tenantId,
      eventKey: 'offline:1',
      actor: 'principal:prn_x',
      action: 'approval.granted',
      target: 'account:u-1',
      details: { comment: 'checked "twice", ünïcødé', nested: { b: 1, a: [1, { z: null, y: 'x' }] } },
    });
    const auditor = await seedPrincipal(h, ['auditor'], [tenantId]);
    const r = await fetch(`${h.baseUrl}/v1/audit?tenantId=${tenantId}&format=jsonl&limit=1000000`, { headers: { authorization: `Bearer ${auditor.key}` } });
    assert.equal(r.status, 200);
    const file = path.join(dir, 'export.jsonl');
    fs.writeFileSync(file, await r.text());
    const verdict = (await h.api('GET', `/v1/audit/verify?tenantId=${tenantId}`, { key: auditor.key })).body;
    assert.equal(verdict.valid, true);

    const ok = runScript(file, tenantId);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout.trim(), `valid: ${verdict.events} events, head ${verdict.headHash}`);

    // One character of one event's details changed: the check names that event.
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('approval.granted'));
    lines[i] = lines[i].replace('twice', 'thrice');
    fs.writeFileSync(file, lines.join('\n'));
    const bad = runScript(file, tenantId);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.equal(bad.stdout.trim(), `broken at event ${i + 1}`);

    // An event dropped from the middle: the next one no longer links.
    const dropped = fs.readFileSync(file, 'utf8').split('\n');
    dropped.splice(i, 1);
    fs.writeFileSync(file, dropped.join('\n'));
    assert.equal(runScript(file, tenantId).status, 1);
  });
});
