// Issue 11, item 6: the audit log cannot be rewritten by the engine's own database role, and
// what the schema's owner can still do to it (edit, delete, reorder, truncate the tail and move
// the head back, recompute the whole chain with the unkeyed hash) is found by GET /v1/audit/verify.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendAudit, auditLogRewritableBy } from '../../store/audit';
import { startHarness, type Harness } from '../../testkit/engine';
import {
  appendUnkeyedAuditEvent,
  appendUnkeyedAuditEvents,
  deleteAuditEvent,
  deleteAuditEventPlainly,
  moveAuditHead,
  recomputeAuditChain,
  rewindAuditChain,
  swapAuditEvents,
  switchOffAuditTriggers,
  tamperWithAuditEvent,
  truncateAuditTable,
  updateAuditEvent,
} from '../../testkit/faults';
import { countAuditEvents } from '../../testkit/inspect-audit';
import { uniq } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  // Heads exported every second, so a test can wait for its chain's head to be out of the database.
  h = await startHarness({ env: { AUDIT_HEAD_EXPORT_SECONDS: '1' } });
});
after(async () => {
  await h?.close();
});

/** A fresh chain of `n` events written by the engine's own store code. */
async function chain(n = 5): Promise<string> {
  const tenantId = uniq('t');
  for (let i = 1; i <= n; i++) {
    await appendAudit(h.db, { tenantId, eventKey: `${tenantId}:${i}`, actor: 'system', action: 'test.appended', target: `tenant:${tenantId}`, details: { i } });
  }
  return tenantId;
}

async function verdict(tenantId: string) {
  const r = await h.api('GET', `/v1/audit/verify?tenantId=${tenantId}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function assertBroken(tenantId: string, what: string, firstBrokenSeq?: number) {
  const v = await verdict(tenantId);
  assert.equal(v.valid, false, `${what} went unnoticed: ${JSON.stringify(v)}`);
  if (firstBrokenSeq !== undefined) assert.equal(v.firstBrokenSeq, firstBrokenSeq, JSON.stringify(v));
}

describe("the engine's own database role cannot rewrite the audit log", () => {
  it('UPDATE, DELETE and TRUNCATE of audit rows fail, and so do switching triggers off and moving a head', async () => {
    const tenantId = await chain(3);
    const denied = /permission denied|must be owner|append-only/;
    await assert.rejects(updateAuditEvent(h.db, { tenantId, seq: 2 }, 'mallory'), denied);
    await assert.rejects(deleteAuditEventPlainly(h.db, { tenantId, seq: 3 }), denied);
    await assert.rejects(truncateAuditTable(h.db, 'audit_events'), /permission denied|append-only/);
    await assert.rejects(truncateAuditTable(h.db, 'audit_heads'), /permission denied|append-only/);
    await assert.rejects(switchOffAuditTriggers(h.db), /must be owner|permission denied/);
    await assert.rejects(moveAuditHead(h.db, tenantId, 1), /permission denied/);
    await assert.rejects(appendUnkeyedAuditEvent(h.db, tenantId), /audit_events_keyed/);
    assert.equal(await countAuditEvents(h.db, { tenantId }), 3);
    const v = await verdict(tenantId);
    assert.equal(v.valid, true, JSON.stringify(v));
    assert.equal(v.events, 3);
  });

  it("the engine's role is the runtime role: nothing in it could rewrite the log (production refuses to start otherwise)", async () => {
    assert.deepEqual(await auditLogRewritableBy(h.db), []);
    assert.ok((await auditLogRewritableBy(h.ownerDb)).some((p) => p.includes('owns the audit tables')));
  });

  it('the owner cannot TRUNCATE the log by accident either', async () => {
    await chain(1);
    await assert.rejects(truncateAuditTable(h.ownerDb, 'audit_events'), /append-only/);
    await assert.rejects(truncateAuditTable(h.ownerDb, 'audit_heads'), /append-only/);
  });
});

describe('what the owner role does to a chain is found by GET /v1/audit/verify', () => {
  it('an untouched chain verifies', async () => {
    const tenantId = await chain();
    const v = await verdict(tenantId);
    assert.equal(v.valid, true, JSON.stringify(v));
    assert.equal(v.events, 5);
  });

  it('an edited row', async () => {
    const tenantId = await chain();
    await tamperWithAuditEvent(h.ownerDb, { tenantId, seq: 3 }, 'mallory');
    await assertBroken(tenantId, 'an edited row', 3);
  });

  it('a deleted row', async () => {
    const tenantId = await chain();
    await deleteAuditEvent(h.ownerDb, { tenantId, seq: 3 });
    await assertBroken(tenantId, 'a deleted row', 3);
  });

  it('reordered rows', async () => {
    const tenantId = await chain();
    await swapAuditEvents(h.ownerDb, tenantId, 2, 4);
    await assertBroken(tenantId, 'reordered rows', 2);
  });

  it('a chain recomputed with the unkeyed hash after an edit, head included', async () => {
    const tenantId = await chain();
    await recomputeAuditChain(h.ownerDb, { tenantId, seq: 2 }, 'mallory');
    await assertBroken(tenantId, 'a recomputed chain', 2);
  });

  it('a chain recomputed from its first event', async () => {
    const tenantId = await chain();
    await recomputeAuditChain(h.ownerDb, { tenantId, seq: 1 }, 'mallory');
    await assertBroken(tenantId, 'a chain recomputed from genesis', 1);
  });

  it('the last events deleted and the head moved back, once the head was exported', async () => {
    const tenantId = await chain();
    await until('the head of the chain exported', async () => (await verdict(tenantId)).exportedHead?.seq === 5, 20_000, 250);
    await rewindAuditChain(h.ownerDb, tenantId, 3);
    await assertBroken(tenantId, 'a rewound chain');
  });
});

describe('events from before the chain was keyed', () => {
  const exported = async (tenantId: string, seq: number) =>
    until(`head ${seq} of ${tenantId} exported`, async () => (await verdict(tenantId)).exportedHead?.seq === seq, 20_000, 250);

  it('verify once an exported head covers them, and keyed events follow them', async () => {
    const tenantId = uniq('t');
    await appendUnkeyedAuditEvents(h.ownerDb, tenantId, 3);
    await exported(tenantId, 3);
    for (let i = 1; i <= 2; i++) {
      await appendAudit(h.db, {
        tenantId,
        eventKey: `${tenantId}:k${i}`,
        actor: 'system',
        action: 'test.appended',
        target: `tenant:${tenantId}`,
        details: { i },
      });
    }
    const v = await verdict(tenantId);
    assert.equal(v.valid, true, JSON.stringify(v));
    assert.equal(v.events, 5);
    assert.equal(v.unkeyedEvents, 3);
  });

  it('a keyed chain relabelled as unkeyed and recomputed is found, before and after its head is exported', async () => {
    const early = await chain();
    await recomputeAuditChain(h.ownerDb, { tenantId: early, seq: 1 }, 'mallory', { unkeyed: true });
    await assertBroken(early, 'an unkeyed rewrite of a chain whose head was not exported yet');

    const late = await chain();
    await exported(late, 5);
    await recomputeAuditChain(h.ownerDb, { tenantId: late, seq: 1 }, 'mallory', { unkeyed: true });
    await assertBroken(late, 'an unkeyed rewrite of an exported chain', 5);
  });

  it('an unkeyed event after keyed ones is found', async () => {
    const tenantId = await chain(2);
    await appendUnkeyedAuditEvents(h.ownerDb, tenantId, 1);
    await assertBroken(tenantId, 'an unkeyed event appended to a keyed chain', 3);
  });
});
