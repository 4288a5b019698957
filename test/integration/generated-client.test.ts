// The OpenAPI document is good enough to build on: a client generated from the running engine's
// /openapi.json (openapi-typescript types + openapi-fetch) type-checks under strict TypeScript and
// drives one password reset end to end, from the request to a sign-in with the new password.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import type { OpenAPI3 } from 'openapi-typescript';
import { generateClientTypes } from '../../scripts/gen-client';
import { startHarness, type Harness } from '../../testkit/engine';
import { isResetLinkTo, tokenFrom } from '../../testkit/mail';
import { CONTEXT, nextIp, seedLocalAccount } from '../../testkit/seed';

const ROOT = path.resolve(__dirname, '../..');
const NEW_PASSWORD = 'harbour-finch-reads-31-charts';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-genclient-'));
  // The driver imports openapi-fetch as any client project would: from a node_modules beside it.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
});
after(async () => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await h?.close();
});

/** Type errors of the generated types plus the driver, checked as a client project would: strict. */
function typeErrors(files: string[]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    esModuleInterop: true,
    // Only what this test generated and wrote is judged, not the packages' own declarations.
    skipLibCheck: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

/** Calls the document rules out: a start without accountId, Tier 4, a next step that cannot be `poll` there. */
const MISUSE = `import createClient from 'openapi-fetch';
import type { paths } from './api';
const c = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' });
export async function misuse() {
  await c.POST('/v1/recoveries', { body: { tenantId: 't', kind: 'password_reset', reason: 'r', context: { ip: '203.0.113.7' } } });
  await c.POST('/v1/recoveries/{id}/verifications', { params: { path: { id: 'rec_x' } }, body: { tier: 4 } });
  const r = await c.GET('/v1/recoveries/{id}', { params: { path: { id: 'rec_x' } } });
  if (r.data?.next?.action === 'submit_verification') {
    const n: { action: 'poll' } = r.data.next;
    return n;
  }
  return null;
}
`;

/** What the driver's resetPassword returns. */
interface ResetOutcome {
  recoveryId: string;
  states: string[];
  finalState: string;
  finalNext: unknown;
  redeemStatus: string;
  sessionId: string;
}
type Driver = {
  resetPassword(i: {
    baseUrl: string;
    agentKey: string;
    tenantId: string;
    accountId: string;
    newPassword: string;
    context: typeof CONTEXT;
    linkToken: () => Promise<string>;
  }): Promise<ResetOutcome>;
};

describe('a client generated from /openapi.json', () => {
  it('type-checks under strict TypeScript and drives a password reset end to end, then signs in with the new password', async () => {
    const doc = await h.api<OpenAPI3>('GET', '/openapi.json', { key: null });
    assert.equal(doc.status, 200);
    fs.writeFileSync(path.join(dir, 'api.d.ts'), await generateClientTypes(doc.body));
    fs.copyFileSync(path.join(__dirname, '../fixtures/generated-client/reset-driver.ts.txt'), path.join(dir, 'reset-driver.ts'));

    const errors = typeErrors([path.join(dir, 'reset-driver.ts')]);
    assert.deepEqual(errors, [], `the generated client does not type-check:\n${errors.join('\n')}`);
    // Control: the same check refuses a call the document does not allow, so a pass above means something.
    fs.writeFileSync(path.join(dir, 'misuse.ts'), MISUSE);
    const refused = typeErrors([path.join(dir, 'misuse.ts')]).join('\n');
    for (const what of ["'accountId' is missing", "Type '4' is not assignable", `Type '"submit_verification"' is not assignable to type '"poll"'`]) {
      assert.ok(refused.includes(what), `misuse not caught (${what}):\n${refused}`);
    }

    const { tenantId, accountId, agent } = await seedLocalAccount(h);
    const driver = (await import(pathToFileURL(path.join(dir, 'reset-driver.ts')).href)) as Driver;
    const owner = `${accountId}@${tenantId}.test`;
    const outcome = await driver.resetPassword({
      baseUrl: h.baseUrl,
      agentKey: agent.key,
      tenantId,
      accountId,
      newPassword: NEW_PASSWORD,
      context: { ...CONTEXT, ip: nextIp() },
      linkToken: async () => tokenFrom(await h.sink.waitFor(isResetLinkTo(owner))),
    });
    assert.match(outcome.recoveryId, /^rec_/);
    assert.equal(outcome.redeemStatus, 'accepted');
    assert.equal(outcome.finalState, 'completed', `states seen: ${outcome.states.join(' -> ')}`);
    assert.equal(outcome.finalNext, null, 'an ended recovery names no next step');
    assert.ok(outcome.sessionId.length > 0, 'signed in with the new password');
  });
});
