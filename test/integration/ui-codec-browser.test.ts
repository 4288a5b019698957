// Issue 15: in a real browser (Debian's Chromium driven by playwright-core; nothing downloaded), the
// real Temporal Web UI, served by this test's own dev server started with --ui-codec-endpoint at
// the engine, shows a completed recovery's workflow input decoded once the person has signed in
// at /signin and the UI's Data Encoder includes cross-origin credentials; without the session
// cookie (before sign-in, after sign-out) the same page shows no decoded value. A screenshot of
// the decoded page is saved under the test run's log folder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { freePort } from '../../boot/ports';
import { startDevServer, type DevServer } from '../../dev/temporal-dev-server';
import { launchChromium } from '../../testkit/browser';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { KNOWLEDGE, recoveryBody, seedLocalAccount, seedPrincipal } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let dev: DevServer;
let h: Harness;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let engine: string;
let ui: string;
let workflowUrl: string;
/** A value only the decoded workflow input shows: the requesting agent's principal id. */
let requestedBy: string;
let auditorKey: string;
const logDir = process.env.TEST_LOG_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-ui-'));

before(async () => {
  const apiPort = await freePort();
  const uiPort = await freePort();
  engine = `http://localhost:${apiPort}`;
  ui = `http://localhost:${uiPort}`;
  const bin = process.env.TEMPORAL_CLI_PATH;
  if (!bin) throw new Error('TEMPORAL_CLI_PATH is not set: run the suite with `npm test`');
  dev = await startDevServer({ bin, port: await freePort(), uiPort, uiCodecEndpoint: `${engine}/codec`, logFile: path.join(logDir, 'ui-dev-server.log') });
  h = await startHarness({ env: { PORT: String(apiPort), TEMPORAL_ADDRESS: dev.address, PUBLIC_BASE_URL: engine, CODEC_CORS_ORIGINS: ui } });

  // A password reset run to completion: request, Tier 1, the emailed link redeemed.
  const { tenantId, accountId, agent } = await seedLocalAccount(h);
  requestedBy = agent.id;
  const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  assert.equal((await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } })).status, 200);
  const token = tokenFrom(await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(`${accountId}@${tenantId}.test`)));
  const state = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state;
  await until('awaiting completion', async () => (await state()) === 'awaiting_completion');
  const redeemed = await h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId, newPassword: 'lantern-otter-carries-42-maps' } });
  assert.equal(redeemed.status, 200, redeemed.text);
  await until('completed', async () => (await state()) === 'completed');
  workflowUrl = `${ui}/namespaces/${h.config.temporal.namespace}/workflows/${encodeURIComponent(`recovery:${tenantId}:${accountId}:password_reset`)}`;
  auditorKey = (await seedPrincipal(h, ['auditor'], ['*'])).key;

  browser = await launchChromium();
  page = await browser.context.newPage();
});
after(async () => {
  await browser?.close();
  await h?.close();
  await dev?.stop();
});

/** Opens the workflow page and waits until its Input panel has been rendered. */
async function openWorkflow(): Promise<string> {
  await page.goto(workflowUrl);
  await page.getByTestId('input-and-result').waitFor({ timeout: 30_000 });
  // The UI decodes after the first render; give its codec requests time to come back.
  await page.waitForLoadState('networkidle');
  return page.getByTestId('input-and-result').innerText();
}

describe('the Temporal Web UI shows decoded payloads to a signed-in person only', () => {
  it("the UI's Data Encoder is told to include cross-origin credentials for the engine's codec", async () => {
    await page.goto(workflowUrl);
    await page.locator('[data-testid^="data-encoder-status"]').first().click();
    // The choice is a drop-down: open it, pick the browser's own setting, close it again.
    await page.getByText('Use Cluster-level setting, where available.').first().click();
    await page.getByText('Use my browser setting and ignore Cluster-level setting.').last().click();
    await page.getByText('Use my browser setting and ignore Cluster-level setting.').first().click();
    await page.getByTestId('data-encoder-endpoint-input').fill(`${engine}/codec`);
    await page.getByText('Include cross-origin credentials').click();
    assert.equal(await page.locator('#pass-access-credentials').isChecked(), true);
    // The Apply of the Data Encoder panel (the page has another, for event filters).
    const panel = page.getByTestId('data-encoder-endpoint-input').locator('xpath=ancestor::*[.//button[normalize-space()="Apply"]][1]');
    await panel.getByRole('button', { name: 'Apply' }).click();
  });

  it('without the session cookie the workflow input stays encrypted on the page', async () => {
    const input = await openWorkflow();
    assert.ok(!input.includes(requestedBy), 'no decoded value without signing in');
    assert.ok(input.includes('binary/encrypted') || input.includes('YmluYXJ5L2VuY3J5cHRlZA=='), input.slice(0, 500));
  });

  it('after signing in at /signin the same page shows the decoded input (the requesting principal)', async () => {
    await page.goto(`${engine}/signin`);
    await page.locator('input[name="apiKey"]').fill(auditorKey);
    await page.getByRole('button', { name: 'Sign in with the key' }).click();
    await page.getByText('Signed in as').waitFor();

    let input = '';
    await until(
      'the decoded input on the page',
      async () => {
        input = await openWorkflow();
        return input.includes(requestedBy);
      },
      60_000,
      1000,
    );
    assert.ok(input.includes('requestedBy'), input.slice(0, 500));
    const shot = path.join(logDir, 'ui-codec-decoded.png');
    await page.screenshot({ path: shot, fullPage: false });
    process.stdout.write(`screenshot: ${shot}\n`);
  });

  it('after signing out the page shows no decoded value again', async () => {
    await page.goto(`${engine}/signin`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    const input = await openWorkflow();
    assert.ok(!input.includes(requestedBy), input.slice(0, 500));
  });
});
