// The hash-chained audit log on real Postgres, under concurrency: appends serialise per tenant,
// a retried event key records one event, and the chain verifies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendAudit, verifyAuditChain } from '../../store/audit';
import { tenantExists } from '../../store/tenants';
import { refuseAuditEvents, tamperWithAuditEvent, updateAuditEvent } from '../../testkit/faults';
import { accountsOf, principalNamed, tenantRow } from '../../testkit/inspect';
import { auditEvents, auditHeadOf } from '../../testkit/inspect-audit';
import { uniq } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const ev = (tenantId: string, eventKey: string, i: number) => ({
  tenantId,
  eventKey,
  actor: 'system',
  action: 'test.appended',
  target: `tenant:${tenantId}`,
  details: { i, nested: { b: 2, a: 1 } },
});

describe('audit chain on Postgres', () => {
  it('concurrent appends, with the same keys retried at the same time, give one gapless valid chain', async () => {
    const tenantId = uniq('t');
    const keys = Array.from({ length: 30 }, (_, i) => `${tenantId}:k${i}`);
    // Every key appended three times at once, all 90 calls in flight together.
    const calls = keys.flatMap((k, i) => [0, 1, 2].map(() => appendAudit(h.db, ev(tenantId, k, i))));
    const results = await Promise.all(calls);
    for (let i = 0; i < keys.length; i++) {
      const same = results.slice(i * 3, i * 3 + 3);
      assert.ok(
        same.every((r) => r.seq === same[0].seq && r.hash === same[0].hash),
        `key ${i}: one event for three appends`,
      );
    }
    const rows = await auditEvents(h.db, { tenantId });
    assert.deepEqual(
      rows.map((r) => Number(r.seq)),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.equal(new Set(rows.map((r) => r.event_key)).size, 30);
    const verdict = await verifyAuditChain(h.db, tenantId);
    assert.equal(verdict.valid, true, JSON.stringify(verdict));
    assert.equal(verdict.events, 30);
    const head = await auditHeadOf(h.db, tenantId);
    assert.equal(Number(head.seq), 30);
    assert.equal(head.hash, verdict.headHash);
  });

  it('a tampered event breaks verification at that event, and the log refuses updates', async () => {
    const tenantId = uniq('t');
    for (let i = 0; i < 3; i++) await appendAudit(h.db, ev(tenantId, `${tenantId}:k${i}`, i));
    await assert.rejects(updateAuditEvent(h.db, { tenantId, seq: 2 }, 'mallory'), /permission denied|append-only/);
    // Even a superuser bypassing the trigger is caught by the chain.
    await tamperWithAuditEvent(h.ownerDb, { tenantId, seq: 2 }, 'mallory');
    const verdict = await verifyAuditChain(h.db, tenantId);
    assert.equal(verdict.valid, false);
    assert.equal(verdict.firstBrokenSeq, 2);
  });
});

describe('an administrative change commits with its audit event, or not at all', () => {
  /** Runs `change` while Postgres refuses `action`'s audit event; the change must fail whole. */
  async function refused(action: string, tenantId: string, change: () => Promise<{ status: number; text: string }>) {
    const release = await refuseAuditEvents(h, { action, tenantId });
    try {
      const r = await change();
      assert.ok(r.status >= 500, `${action}: ${r.status} ${r.text}`);
    } finally {
      await release();
    }
  }

  it('tenant creation', async () => {
    const id = uniq('t');
    const body = { id, name: 'Refused Ltd', authMode: 'local', securityContacts: [`security@${id}.test`] };
    await refused('tenant.created', id, () => h.api('POST', '/v1/admin/tenants', { body }));
    assert.equal(await tenantExists(h.db, id), false);
    assert.equal((await h.api('POST', '/v1/admin/tenants', { body })).status, 201);
  });

  it('principal creation (no principal, no key)', async () => {
    const tenantId = uniq('t');
    assert.equal(
      (await h.api('POST', '/v1/admin/tenants', { body: { id: tenantId, name: tenantId, authMode: 'local', securityContacts: [`s@${tenantId}.test`] } }))
        .status,
      201,
    );
    const name = uniq('agent');
    await refused('principal.created', tenantId, () => h.api('POST', '/v1/admin/principals', { body: { name, roles: ['agent'], tenantScope: [tenantId] } }));
    assert.equal(await principalNamed(h.db, name), undefined);
  });

  it('policy change (the old policy stays)', async () => {
    const tenantId = uniq('t');
    assert.equal(
      (await h.api('POST', '/v1/admin/tenants', { body: { id: tenantId, name: tenantId, authMode: 'local', securityContacts: [`s@${tenantId}.test`] } }))
        .status,
      201,
    );
    await refused('policy.updated', tenantId, () => h.api('PUT', `/v1/admin/tenants/${tenantId}/policy`, { body: { maxFailedVerifications: 3 } }));
    const row = await tenantRow(h.db, tenantId);
    assert.equal(row.policy_override, null);
  });

  it('account import (no account)', async () => {
    const tenantId = uniq('t');
    assert.equal(
      (await h.api('POST', '/v1/admin/tenants', { body: { id: tenantId, name: tenantId, authMode: 'local', securityContacts: [`s@${tenantId}.test`] } }))
        .status,
      201,
    );
    const accounts = [{ externalId: 'u-refused', emails: ['u-refused@example.test'], role: 'standard', authMethod: 'local' }];
    await refused('accounts.imported', tenantId, () => h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, { body: { accounts } }));
    assert.deepEqual(await accountsOf(h.db, tenantId), []);
  });
});
