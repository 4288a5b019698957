// Issue 11 item 9: the break-glass pickup across a token-key rotation. The credential is sealed
// under the key set of the worker that issued it; the API that hands it out may run with a
// rotated set. The pickup must open it with the key that sealed it, and a pickup that cannot
// open it must leave the sealed copy in place (it is the only one).
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import type { HmacKey } from '../../infra/config';
import { startHarness, type Harness } from '../../testkit/engine';
import { credentialPickupOf, credentialsOf, found } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { seedBreakGlassTeam } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

type Team = Awaited<ReturnType<typeof seedBreakGlassTeam>>;

/** An active break-glass grant whose credential the worker (key set [k1]) has sealed. */
async function activeGrant(): Promise<{ t: Team; id: string }> {
  const t = await seedBreakGlassTeam(h);
  const r = await h.api('POST', '/v1/break-glass', {
    key: t.requester.key,
    body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod database locked during key rotation', ticketRef: 'INC-9' },
  });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  const state = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body.state as string;
  await until('awaiting approval', async () => (await state()) === 'awaiting_approval');
  for (const p of [t.p1, t.p2]) {
    const a = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'on the bridge' } });
    assert.equal(a.status, 200, a.text);
  }
  await until('active', async () => (await state()) === 'active');
  await until('sealed copy', async () => (await credentialPickupOf(h.db, id)) !== undefined);
  return { t, id };
}

/** An API on the same database and Temporal, with another token key set (a rotation under way). */
async function apiWithKeys(tokenKeys: HmacKey[]): Promise<FastifyInstance> {
  return buildApp({
    db: h.db,
    temporal: h.client,
    config: { ...h.config, tokenKeys },
    taskQueue: h.taskQueue,
    searchAttributes: true,
    logger: false,
    mailer: h.mailer,
  });
}

const pickUp = (app: FastifyInstance, key: string, id: string) =>
  app.inject({ method: 'POST', url: `/v1/break-glass/${id}/credential`, headers: { authorization: `Bearer ${key}` } });

const k2: HmacKey = { id: 'k2', key: crypto.randomBytes(32) };

describe('the break-glass pickup survives a token-key rotation', () => {
  it('a credential sealed under [k1] is picked up by an API rotated to [k2, k1], and it signs in', async () => {
    const k1 = h.config.tokenKeys;
    const { t, id } = await activeGrant();
    const rotated = await apiWithKeys([k2, ...k1]);
    try {
      const r = await pickUp(rotated, t.requester.key, id);
      assert.equal(r.statusCode, 200, r.body);
      const credential = r.json().credential as string;
      assert.match(credential, new RegExp(`^bgc_${k1[0].id}\\.`), 'the credential names the key that checks it');
      const signIn = await h.api('POST', '/v1/directory/sessions', { key: null, body: { tenantId: t.tenantId, accountId: t.bgAccount, credential } });
      assert.equal(signIn.status, 201, signIn.text);
    } finally {
      await rotated.close();
    }
  });

  it('a pickup that cannot open the sealed copy (its key already retired) consumes nothing; once the key is back it works', async () => {
    const k1 = h.config.tokenKeys;
    const { t, id } = await activeGrant();
    const retired = await apiWithKeys([k2]);
    try {
      const r = await pickUp(retired, t.requester.key, id);
      assert.ok(await credentialPickupOf(h.db, id), `the sealed copy is still there (answer: ${r.statusCode} ${r.body})`);
      const [cred] = await credentialsOf(h.db, id);
      assert.equal(found(cred, 'credential').fetched_at, null, 'the credential is not marked fetched');
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(r.json().error.code, 'credential_key_unavailable');
      assert.equal((await auditEvents(h.db, { caseId: id, action: 'credential.fetched' })).length, 0);
      assert.equal((await auditEvents(h.db, { caseId: id, action: 'credential.fetch_failed' })).length, 1, 'the failed pickup is audited');
    } finally {
      await retired.close();
    }
    const rotated = await apiWithKeys([k2, ...k1]);
    try {
      const r = await pickUp(rotated, t.requester.key, id);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(await credentialPickupOf(h.db, id), undefined, 'a successful pickup destroys the sealed copy');
    } finally {
      await rotated.close();
    }
  });
});
