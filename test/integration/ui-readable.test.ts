// Issue 15: a person without decode rights still understands where a case stands in the Temporal
// Web UI. The workflow's summary (user metadata) and current details (the metadata query the UI
// runs) stay readable without the codec and hold no personal data; its input stays encrypted.
// Read here as the UI reads them: raw from the server, with no data converter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { recoveryBody, seedLocalAccount } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
let tenantId: string;
let accountId: string;
let recoveryId: string;
let workflowId: string;
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());

before(async () => {
  h = await startHarness();
  const seeded = await seedLocalAccount(h);
  ({ tenantId, accountId } = seeded);
  const agent = seeded.agent;
  const r = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
  assert.equal(r.status, 202, r.text);
  recoveryId = r.body.id;
  workflowId = `recovery:${tenantId}:${accountId}:password_reset`;
});
after(async () => {
  await h?.close();
});

const execution = () => ({ namespace: h.config.temporal.namespace, execution: { workflowId } });

describe('readable without the codec, and nothing personal in it', () => {
  it('the summary shown in the workflow list: kind and case id, in clear; no tenant, account or address', async () => {
    const d = await h.client.workflowService.describeWorkflowExecution(execution());
    const summary = d.executionConfig!.userMetadata!.summary!;
    assert.equal(text(summary.metadata!.encoding), 'json/plain');
    assert.equal(JSON.parse(text(summary.data)), `password_reset ${recoveryId}`);
    for (const personal of [accountId, tenantId, '@']) assert.ok(!text(summary.data).includes(personal), personal);
  });

  it('the current details the UI queries: state and what the case waits for, in clear; no tenant or account', async () => {
    let details = '';
    await until('the workflow published its state', async () => {
      const q = await h.client.workflowService.queryWorkflow({ ...execution(), query: { queryType: '__temporal_workflow_metadata' } });
      const p = q.queryResult!.payloads![0];
      assert.equal(text(p.metadata!.encoding), 'json/plain', 'the metadata answer is not encrypted');
      details = (JSON.parse(text(p.data)) as { currentDetails: string }).currentDetails;
      return details.startsWith('**password_reset**: ') && details.includes('waiting for');
    });
    for (const personal of [accountId, tenantId, '@']) assert.ok(!details.includes(personal), `${personal} in ${details}`);
  });

  it('the workflow input stays encrypted (the control)', async () => {
    const history = await h.client.workflowService.getWorkflowExecutionHistory(execution());
    const input = history.history!.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
    assert.equal(text(input.metadata!.encoding), 'binary/encrypted');
    assert.ok(!text(input.data).includes(recoveryId));
  });
});
