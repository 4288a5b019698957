// SCIM deprovisioning over real HTTP, Temporal and Postgres, with the payloads Okta and Entra
// really send: the account is deactivated or deleted at once, its sessions end, and a recovery in
// its waiting period and an active break-glass grant are stopped through their workflows, each
// step audited. Only the tenant's own SCIM token opens the routes; errors come in SCIM's shape.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { findAccount } from '../../store/directory';
import { auditActionsOf, auditEvents } from '../../testkit/inspect-audit';
import { sessionRow } from '../../testkit/inspect';
import {
  KNOWLEDGE,
  OLD_PASSWORD,
  recoveryBody,
  seedAccount,
  seedBreakGlassTeam,
  seedIngestion,
  seedLogin,
  seedPrincipal,
  seedTenant,
  setPolicy,
} from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const OKTA_DEACTIVATE = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] };
const entra = (value: 'True' | 'False') => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [{ op: 'Replace', path: 'active', value }],
});

async function scimToken(tenantId: string): Promise<string> {
  const r = await h.api('POST', `/v1/admin/tenants/${tenantId}/scim-token`, {});
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.token, /^scim_[A-Za-z0-9_-]{43}$/);
  return r.body.token as string;
}

async function scim(method: string, path: string, token: string | null, body?: unknown, type = 'application/scim+json') {
  const r = await fetch(`${h.baseUrl}/v1/scim/v2${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': type } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type') ?? '', text, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const signIn = (tenantId: string, accountId: string) =>
  h.api('POST', '/v1/directory/password-sessions', {
    key: null,
    headers: { 'x-forwarded-for': '198.51.100.77' },
    body: { tenantId, accountId, password: OLD_PASSWORD },
  });

describe('the SCIM token', () => {
  it("only the tenant's SCIM token opens the routes: no token, an engine API key or another tenant's token do not", async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    await scimToken(tenantId);
    const other = await seedTenant(h, 'local');
    const otherToken = await scimToken(other);
    const none = await scim('PATCH', `/Users/${accountId}`, null, OKTA_DEACTIVATE);
    assert.equal(none.status, 401, none.text);
    assert.deepEqual(none.body?.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    assert.equal(none.body?.status, '401');
    assert.equal((await scim('PATCH', `/Users/${accountId}`, h.adminKey, OKTA_DEACTIVATE)).status, 401, 'an engine API key is not a SCIM token');
    const foreign = await scim('PATCH', `/Users/${accountId}`, otherToken, OKTA_DEACTIVATE);
    assert.equal(foreign.status, 404, 'another tenant does not see the account');
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'active', 'nothing changed');
  });

  it('a new token replaces the old one at once, and issuing it is audited', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const first = await scimToken(tenantId);
    const second = await scimToken(tenantId);
    assert.equal((await scim('PUT', `/Users/${accountId}`, first, { userName: accountId })).status, 401);
    assert.equal((await scim('PUT', `/Users/${accountId}`, second, { userName: accountId })).status, 200);
    const issued = await auditEvents(h.db, { tenantId, action: 'scim.token_issued' });
    assert.equal(issued.length, 2);
  });
});

describe('deactivation and deletion as the identity providers send them', () => {
  it("Okta's PATCH without a path deactivates: status suspended, sessions ended, audited; a repeat changes nothing", async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const token = await scimToken(tenantId);
    const session = await signIn(tenantId, accountId);
    assert.equal(session.status, 201, session.text);
    const r = await scim('PATCH', `/Users/${accountId}`, token, OKTA_DEACTIVATE, 'application/json');
    assert.equal(r.status, 200, r.text);
    assert.match(r.type, /application\/scim\+json/);
    assert.equal(r.body?.active, false);
    assert.equal(r.body?.id, accountId);
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'suspended');
    assert.notEqual((await sessionRow(h.db, session.body.sessionId)).revoked_at, null, 'the session ended');
    assert.equal((await signIn(tenantId, accountId)).status, 401, 'no new sign-in');
    const again = await scim('PATCH', `/Users/${accountId}`, token, OKTA_DEACTIVATE, 'application/json');
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body?.active, false);
    const deactivated = await auditEvents(h.db, { tenantId, action: 'account.deactivated' });
    assert.ok(deactivated.length >= 1 && deactivated.every((e) => e.actor === `scim:${tenantId}` && e.target === `account:${accountId}`));
  });

  it('Entra\'s Replace with path active and the string "False" deactivates, and "True" reactivates', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const token = await scimToken(tenantId);
    const off = await scim('PATCH', `/Users/${accountId}`, token, entra('False'));
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body?.active, false, 'a string "False" is false, not a truthy string');
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'suspended');
    const on = await scim('PATCH', `/Users/${accountId}`, token, entra('True'));
    assert.equal(on.body?.active, true);
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'active');
    assert.ok((await auditEvents(h.db, { tenantId, action: 'account.reactivated' })).length === 1);
  });

  it('DELETE deprovisions for good and is idempotent; the account then answers 404 and never comes back', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const token = await scimToken(tenantId);
    assert.equal((await scim('DELETE', `/Users/${accountId}`, token)).status, 204);
    assert.equal((await scim('DELETE', `/Users/${accountId}`, token)).status, 204, 'deleting twice is fine');
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'deprovisioned');
    assert.equal((await scim('PATCH', `/Users/${accountId}`, token, entra('True'))).status, 404);
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'deprovisioned');
  });

  it('bad input gets a SCIM 400 naming what is wrong; a foreign content type 415; an unknown user 404', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId);
    const token = await scimToken(tenantId);
    const move = await scim('PATCH', `/Users/${accountId}`, token, { Operations: [{ op: 'move', path: 'active', value: false }] });
    assert.equal(move.status, 400, move.text);
    assert.equal(move.body?.scimType, 'invalidSyntax');
    assert.match(String(move.body?.detail), /Operations\[0\]\.op/);
    const notBool = await scim('PATCH', `/Users/${accountId}`, token, { Operations: [{ op: 'replace', path: 'active', value: 'nope' }] });
    assert.equal(notBool.body?.scimType, 'invalidValue');
    const broken = await scim('PATCH', `/Users/${accountId}`, token, '{"Operations": [', 'application/scim+json');
    assert.equal(broken.status, 400, broken.text);
    assert.deepEqual(broken.body?.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    const text = await scim('PATCH', `/Users/${accountId}`, token, JSON.stringify(OKTA_DEACTIVATE), 'text/plain');
    assert.equal(text.status, 415, text.text);
    assert.equal((await scim('PATCH', '/Users/u-nobody', token, OKTA_DEACTIVATE)).status, 404);
    assert.equal((await findAccount(h.db, tenantId, accountId))!.status, 'active', 'nothing applied');
  });
});

describe('deprovisioning stops what is in flight', () => {
  it('a recovery in its waiting period is cancelled through its workflow, and the cancel is audited', async () => {
    const tenantId = await seedTenant(h, 'local');
    await setPolicy(h, tenantId, { approvalDeadlineSeconds: 600, rules: { password_reset: { privileged: { waitSeconds: 600 } } } });
    const accountId = await seedAccount(h, tenantId, { role: 'admin' });
    const agent = await seedPrincipal(h, ['agent'], [tenantId]);
    const approver = await seedPrincipal(h, ['approver'], [tenantId]);
    await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
    const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(tenantId, accountId) });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    for (const body of [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }])
      assert.equal((await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body })).status, 200);
    assert.equal((await h.api('POST', `/v1/recoveries/${id}/approvals`, { key: approver.key, body: { decision: 'approve', comment: 'ok' } })).status, 200);
    const state = async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state;
    await until('waiting period', async () => (await state()) === 'waiting_period', 30_000);

    const token = await scimToken(tenantId);
    assert.equal((await scim('DELETE', `/Users/${accountId}`, token)).status, 204);
    await until('cancelled within a minute', async () => (await state()) === 'cancelled', 60_000);
    const cancelled = (await auditEvents(h.db, { caseId: id })).find((e) => e.action === 'recovery.cancelled');
    assert.ok(cancelled, 'the cancel is in the audit log');
    assert.equal(cancelled.actor, `scim:${tenantId}`);
    assert.equal(cancelled.details.via, 'deprovision');
  });

  it('an active break-glass grant is revoked: the credential stops and the grant goes on to rotation and review', async () => {
    const t = await seedBreakGlassTeam(h);
    const req = await h.api('POST', '/v1/break-glass', {
      key: t.requester.key,
      body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod database locked', ticketRef: 'INC-9', durationSeconds: 600 },
    });
    assert.equal(req.status, 202, req.text);
    const id = req.body.id as string;
    for (const p of [t.p1, t.p2])
      assert.equal((await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'ok' } })).status, 200);
    const grant = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body;
    await until('active', async () => (await grant()).state === 'active', 30_000);

    const token = await scimToken(t.tenantId);
    const r = await scim('PATCH', `/Users/${t.bgAccount}`, token, OKTA_DEACTIVATE, 'application/json');
    assert.equal(r.status, 200, r.text);
    await until('revoked within a minute', async () => ((await grant()).credential?.revokedReason ?? null) !== null, 60_000);
    const g = await grant();
    assert.notEqual(g.state, 'active');
    const actions = await auditActionsOf(h.db, id);
    assert.ok(actions.includes('access.credential_revoked'), actions.join(', '));
  });
});
