// Issue 11, item 1: a message whose payload the worker cannot decode (a key id it does not hold,
// ciphertext that does not authenticate, metadata naming no known encoding, JSON that does not
// parse, or no argument at all) must not wedge the workflow: no workflow task fails and retries
// for ever, and genuine decisions through the API still complete the grant.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { accessLinkRedeemedSignal, accessStatusQuery, credentialFetchedSignal } from '../../contracts/access';
import { ENCRYPTED_ENCODING } from '../../infra/codec';
import { startHarness, type Harness } from '../../testkit/engine';
import { grantRow } from '../../testkit/inspect';
import { seedBreakGlassTeam } from '../../testkit/seed';
import { sleep, until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const bytes = (s: string) => new TextEncoder().encode(s);

/** What an attacker can put on the wire in place of a payload. */
const GARBAGE: Record<string, () => Payload> = {
  'an unknown key id': () => ({ metadata: { encoding: bytes(ENCRYPTED_ENCODING), 'encryption-key-id': bytes('nokey') }, data: crypto.randomBytes(64) }),
  'ciphertext that does not authenticate': () => ({
    metadata: { encoding: bytes(ENCRYPTED_ENCODING), 'encryption-key-id': bytes(h.config.payloadKeys[0].id) },
    data: crypto.randomBytes(64),
  }),
  'an unknown encoding': () => ({ metadata: { encoding: bytes('binary/whatever') }, data: crypto.randomBytes(16) }),
  'JSON that does not parse': () => ({ metadata: { encoding: bytes('json/plain') }, data: bytes('{"attestationId": ') }),
};

/** A client whose every outgoing payload is replaced by `make()`. */
function garbageClient(make: () => Payload): Client {
  const codec: PayloadCodec = { encode: async (ps) => ps.map(() => make()), decode: async (ps) => ps };
  return new Client({ connection: h.client.connection, namespace: h.client.options.namespace, dataConverter: { payloadCodecs: [codec] } });
}

async function failedTasks(workflowId: string): Promise<number> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
}

describe('undecodable messages do not wedge a workflow', () => {
  it('signals and updates with undecodable or missing payloads are dropped; the grant still gets its approvals', async () => {
    const t = await seedBreakGlassTeam(h);
    const r = await h.api('POST', '/v1/break-glass', {
      key: t.requester.key,
      body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod locked', ticketRef: 'INC-2', durationSeconds: 30 },
    });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    const workflowId = (await grantRow(h.db, id)).workflow_id;
    const status = () => h.client.workflow.getHandle(workflowId).query(accessStatusQuery);
    await until('awaiting approval', async () => (await status()).state === 'awaiting_approval');

    for (const [what, make] of Object.entries(GARBAGE)) {
      const handle = garbageClient(make).workflow.getHandle(workflowId);
      await handle.signal(credentialFetchedSignal);
      await handle.signal(accessLinkRedeemedSignal, { tokenId: 'x' });
      const update = await h.client
        .withAbortSignal(AbortSignal.timeout(8000), () => handle.executeUpdate('decide', { args: [{ decision: 'approve', comment: 'x' }] }))
        .then(
          () => 'accepted',
          (err: Error) => `${err.name}: ${err.message}`,
        );
      assert.doesNotMatch(update, /^accepted/, `an update with ${what} is not accepted`);
      await sleep(500);
      assert.equal(await failedTasks(workflowId), 0, `no workflow task failed after a message with ${what}`);
    }
    // Signals with no argument at all, where one is expected.
    await h.client.workflow.getHandle(workflowId).signal('linkRedeemed');
    await sleep(500);
    assert.equal(await failedTasks(workflowId), 0, 'no workflow task failed after a signal with no argument');

    const s = await status();
    assert.equal(s.state, 'awaiting_approval');
    assert.equal(s.credential.fetched, false);
    for (const p of [t.p1, t.p2]) {
      const a = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'incident confirmed' } });
      assert.equal(a.status, 200, a.text);
    }
    await until('active', async () => (await status()).state === 'active');
    assert.equal(await failedTasks(workflowId), 0);
  });
});
