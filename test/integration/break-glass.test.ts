// Break-glass and SSO bypass over real HTTP against the dev server, with second-scale grants
// (dev policy mode), and every attack on the emergency path.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { accessDecideUpdate, accessReviewUpdate, type AccessDecision } from '../../contracts/access';
import { checkPassword, findAccount } from '../../store/directory';
import { credentialState } from '../../store/grants';
import { refuseAuditEvents } from '../../testkit/faults';
import { found, grantRow, passwordCredentialOf, sessionRow, tenantRow } from '../../testkit/inspect';
import { auditEvents, type AuditEventJson } from '../../testkit/inspect-audit';
import { OLD_PASSWORD, recoveryBody, seedBreakGlassTeam, seedPrincipal } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { historyText } from '../../testkit/history';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const team = (authMode: 'local' | 'sso_enforced' = 'local') => seedBreakGlassTeam(h, authMode);
type Team = Awaited<ReturnType<typeof team>>;

const grant = async (key: string, id: string) => (await h.api('GET', `/v1/break-glass/${id}`, { key })).body;
/** Requests a grant; a break-glass request is returned once it is open for decisions. */
async function request(t: Team, over: Record<string, unknown> = {}, key = t.requester.key) {
  const r = await h.api('POST', '/v1/break-glass', {
    key,
    body: {
      tenantId: t.tenantId,
      target: { designated: true },
      justification: 'prod database locked after failed migration',
      ticketRef: 'INC-4242',
      durationSeconds: 4,
      ...over,
    },
  });
  if (r.status === 202 && r.body.kind === 'break_glass')
    await until('awaiting approval', async () => (await grant(key, r.body.id)).state === 'awaiting_approval');
  return r;
}
const approve = (key: string, id: string, decision = 'approve') =>
  h.api('POST', `/v1/break-glass/${id}/approvals`, { key, body: { decision, comment: 'incident confirmed on the bridge' } });
const fetchCredential = (key: string, id: string) => h.api('POST', `/v1/break-glass/${id}/credential`, { key });
const signIn = (t: Team, credential: string, accountId = t.bgAccount) =>
  h.api('POST', '/v1/directory/sessions', { key: null, body: { tenantId: t.tenantId, accountId, credential } });
const workflowIdOf = async (id: string) => (await grantRow(h.db, id)).workflow_id;

async function active(t: Team, over: Record<string, unknown> = {}) {
  const r = await request(t, over);
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  assert.equal((await approve(t.p1.key, id)).status, 200);
  assert.equal((await approve(t.p2.key, id)).status, 200);
  await until('active', async () => (await grant(t.requester.key, id)).state === 'active');
  return id;
}

/** A decision sent straight to the workflow, around the API: never believed, whatever it claims (issue 11 item 1). */
async function directRejected(workflowId: string, d: Partial<AccessDecision>) {
  const full: AccessDecision = { principalId: 'prn_direct', roles: ['break_glass_approver'], tenantScope: ['*'], decision: 'approve', comment: 'direct', ...d };
  await assert.rejects(h.client.workflow.getHandle(workflowId).executeUpdate(accessDecideUpdate, { args: [full] }), (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.equal((err.cause as { type?: string }).type, 'unattested');
    return true;
  });
}

describe('break-glass from request to review', () => {
  it('two approvals, a one-time pickup, use, expiry with sessions revoked, rotation, independent review, completion', async () => {
    const t = await team();
    const r = await request(t);
    assert.equal(r.status, 202, r.text);
    const id = r.body.id;
    assert.equal(r.body.accountId, t.bgAccount, 'the designated break-glass account');
    const asked = await h.sink.waitFor((m) => m.subject.startsWith('[break-glass]') && m.to.includes(t.p1.email));
    assert.ok(asked.to.includes(t.p2.email) && !asked.to.includes(t.requester.email));

    assert.equal((await fetchCredential(t.requester.key, id)).body.error.code, 'credential_not_issued', 'nothing to fetch before approval');
    assert.equal((await approve(t.p1.key, id)).status, 200);
    assert.equal((await grant(t.requester.key, id)).state, 'awaiting_approval', 'one approval is not enough');
    assert.equal((await approve(t.p2.key, id)).status, 200);
    await until('active', async () => (await grant(t.requester.key, id)).state === 'active');
    await h.sink.waitFor((m) => m.subject.startsWith('Approved:') && m.to.includes(t.requester.email));

    const fetched = await fetchCredential(t.requester.key, id);
    assert.equal(fetched.status, 200, fetched.text);
    assert.equal(fetched.headers.get('cache-control'), 'no-store');
    const credential = fetched.body.credential as string;
    assert.match(credential, /^bgc_t1\.[A-Za-z0-9_-]{43}$/);
    assert.ok(!h.sink.list().some((m) => m.text.includes(credential)), 'never emailed');
    const again = await fetchCredential(t.requester.key, id);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'credential_already_fetched');

    const session = await signIn(t, credential);
    assert.equal(session.status, 201, session.text);
    // The pickup reaches the workflow as a signal it confirms (its attestation) before recording it.
    await until('pickup recorded', async () => (await grant(t.requester.key, id)).credential.fetched === true);

    await until('review', async () => (await grant(t.requester.key, id)).state === 'awaiting_review', 20_000);
    assert.equal((await signIn(t, credential)).status, 401, 'the credential stops at its TTL');
    const s = await sessionRow(h.db, session.body.sessionId);
    assert.notEqual(s.revoked_at, null, 'the session opened with it ended');
    assert.equal(await checkPassword(h.db, t.tenantId, t.bgAccount, OLD_PASSWORD), false, "the account's own credential was rotated");
    const g = await grant(t.requester.key, id);
    assert.equal(g.rotated, true);
    assert.equal(g.waitingFor, 'a post-action review by an independent reviewer');

    await h.sink.waitFor((m) => m.subject.startsWith('[review]') && m.to.includes(t.reviewer.email));
    for (const who of [t.requester, t.p1]) {
      const bad = await h.api('POST', `/v1/break-glass/${id}/review`, { key: who.key, body: { outcome: 'appropriate', notes: 'self review' } });
      assert.equal(bad.status, 403, bad.text);
    }
    const review = await h.api('POST', `/v1/break-glass/${id}/review`, {
      key: t.reviewer.key,
      body: { outcome: 'appropriate', notes: 'used to unlock the migration; ticket INC-4242 closed' },
    });
    assert.equal(review.status, 200, review.text);
    await until('completed', async () => (await grant(t.requester.key, id)).state === 'completed');
    // The status query can be a moment ahead of the activity that records the end.
    await until('end recorded', async () => (await grantRow(h.db, id)).ended_at !== null);

    const events = (await h.api<{ events: AuditEventJson[] }>('GET', `/v1/audit?tenantId=${t.tenantId}`)).body.events.filter((e) => e.recovery_id === id);
    const actions = events.map((e) => e.action);
    for (const a of [
      'access.requested',
      'approval.granted',
      'access.credential_issued',
      'credential.fetched',
      'credential.fetch_refused',
      'access.credential_used',
      'access.credential_expired',
      'access.rotation_started',
      'access.review_requested',
      'access.reviewed',
    ]) {
      assert.ok(actions.includes(a), `audit has ${a}: ${actions.join(', ')}`);
    }
    const requested = events.find((e) => e.action === 'access.requested');
    assert.equal(requested?.details.justification, 'prod database locked after failed migration');
    assert.equal(requested?.details.ticketRef, 'INC-4242');
    assert.equal((await h.api('GET', `/v1/audit/verify?tenantId=${t.tenantId}`)).body.valid, true);
    const g2 = await grantRow(h.db, id);
    assert.equal(g2.run_id, (await h.client.workflow.getHandle(g2.workflow_id).describe()).runId, 'the first recorded transition wrote the run id');
    const hist = await historyText(h, await workflowIdOf(id));
    assert.ok(hist.includes(`"grantId":"${id}"`), 'control: decoded payloads are searched');
    assert.ok(!hist.includes(credential) && !hist.includes(credential.split('.')[1]), 'the credential never enters history');
  });
});

describe('attacks on the emergency path fail', () => {
  it('self-approval', async () => {
    const t = await team();
    const both = await seedPrincipal(h, ['agent', 'break_glass_approver'], [t.tenantId]);
    const r = await request(t, {}, both.key);
    const self = await approve(both.key, r.body.id);
    assert.equal(self.status, 403, self.text);
    assert.equal(self.body.error.code, 'requester_cannot_approve');
    await directRejected(await workflowIdOf(r.body.id), { principalId: both.id });
  });

  it('one approver twice', async () => {
    const t = await team();
    const r = await request(t);
    assert.equal((await approve(t.p1.key, r.body.id)).status, 200);
    const twice = await approve(t.p1.key, r.body.id);
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'already_decided');
    await directRejected(await workflowIdOf(r.body.id), { principalId: t.p1.id });
    assert.equal((await grant(t.requester.key, r.body.id)).state, 'awaiting_approval');
  });

  it('approval by a principal without the break-glass approver role', async () => {
    const t = await team();
    const approverOnly = await seedPrincipal(h, ['approver'], [t.tenantId]);
    const r = await request(t);
    const bad = await approve(approverOnly.key, r.body.id);
    assert.equal(bad.status, 403);
    assert.equal(bad.body.error.code, 'approver_lacks_role');
    await directRejected(await workflowIdOf(r.body.id), { principalId: approverOnly.id, roles: ['approver'] });
    const audited = await auditEvents(h.db, { caseId: r.body.id, action: 'access.approval.rejected' });
    assert.ok(audited.some((a) => a.details.code === 'approver_lacks_role'));
  });

  it('a fetch by anyone but the requester, and a second fetch, are refused and audited', async () => {
    const t = await team();
    const id = await active(t, { durationSeconds: 60 });
    const other = await seedPrincipal(h, ['agent'], [t.tenantId]);
    for (const who of [other, t.p1]) {
      const r = await fetchCredential(who.key, id);
      assert.equal(r.status, who === t.p1 ? 403 : 403, r.text);
    }
    assert.equal((await fetchCredential(t.requester.key, id)).status, 200);
    assert.equal((await fetchCredential(t.requester.key, id)).status, 409);
    const audited = await auditEvents(h.db, { caseId: id, action: ['credential.fetch_denied', 'credential.fetch_refused'] });
    assert.equal(
      audited.filter((a) => a.action === 'credential.fetch_denied').length,
      1,
      'the other agent (the approver lacks the role to reach the route at all)',
    );
    assert.equal(audited.filter((a) => a.action === 'credential.fetch_refused').length, 1);
  });

  it('a pickup whose audit event cannot be written hands nothing out and leaves the credential to pick up', async () => {
    const t = await team();
    const id = await active(t, { durationSeconds: 60 });
    // Postgres refuses exactly this event, as it would if it stopped between the pickup and the audit append.
    const release = await refuseAuditEvents(h, { action: 'credential.fetched', recoveryId: id });
    try {
      const refused = await fetchCredential(t.requester.key, id);
      assert.ok(refused.status >= 500, refused.text);
      assert.equal(refused.body.credential, undefined);
    } finally {
      await release();
    }
    const cred = found(await credentialState(h.db, id), `credential of ${id}`);
    assert.equal(cred.fetched_at, null, 'not marked as picked up');
    const picked = await fetchCredential(t.requester.key, id);
    assert.equal(picked.status, 200, picked.text);
    assert.ok(picked.body.credential);
    const fetched = await auditEvents(h.db, { caseId: id, action: 'credential.fetched' });
    assert.equal(fetched.length, 1);
  });

  it('use after revoke', async () => {
    const t = await team();
    const id = await active(t, { durationSeconds: 600 });
    const credential = (await fetchCredential(t.requester.key, id)).body.credential;
    const s = await signIn(t, credential);
    assert.equal(s.status, 201);
    const rv = await h.api('POST', `/v1/break-glass/${id}/revoke`, { key: t.requester.key, body: { reason: 'incident resolved early' } });
    assert.equal(rv.status, 200, rv.text);
    assert.equal(rv.body.credential.revokedReason, 'revoked');
    assert.equal((await signIn(t, credential)).status, 401);
    const session = await sessionRow(h.db, s.body.sessionId);
    assert.notEqual(session.revoked_at, null);
    assert.equal((await signIn(t, `bgc_t1.${'A'.repeat(43)}`)).status, 401, 'a made-up credential fails the same way');
  });

  it('a cross-tenant target', async () => {
    const t = await team();
    const other = await team();
    const outOfScope = await request(t, { tenantId: other.tenantId });
    assert.equal(outOfScope.status, 403);
    assert.equal(outOfScope.body.error.code, 'tenant_out_of_scope');
    const foreignAccount = await request(t, { target: { accountId: other.bgAccount } });
    assert.equal(foreignAccount.status, 404);
    assert.equal(foreignAccount.body.error.details.field, 'target.accountId');
    const id = await active(t, { durationSeconds: 600 });
    const credential = (await fetchCredential(t.requester.key, id)).body.credential;
    const elsewhere = await h.api('POST', '/v1/directory/sessions', { key: null, body: { tenantId: other.tenantId, accountId: other.bgAccount, credential } });
    assert.equal(elsewhere.status, 401, 'a credential works only for its own tenant and account');
    const foreign = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: other.p1.key, body: { decision: 'approve', comment: 'x' } });
    assert.equal(foreign.status, 404, "another tenant's approver is told nothing of the grant (issue 11 item 18)");
    assert.equal(foreign.body.error.code, 'not_found');
  });
});

describe('SSO bypass while the IdP is down', () => {
  it('the security contact confirms, two approvers decide, access is time-limited, no password is ever created, SSO stays enforced', async () => {
    const t = await team('sso_enforced');
    const r = await request(t, { kind: 'sso_bypass', target: { accountId: t.bgAccount }, durationSeconds: 3 });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id;
    await until('awaiting confirmation', async () => (await grant(t.requester.key, id)).state === 'awaiting_confirmation');
    assert.equal((await approve(t.p1.key, id)).status, 409, 'no decision before the contact confirms');
    const confirm = await h.sink.waitFor((m) => m.subject.startsWith('Confirm SSO-bypass') && m.to.includes(`security@${t.tenantId}.test`));
    assert.deepEqual(confirm.to, [`security@${t.tenantId}.test`], 'only to the contact on record');
    const ok = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(confirm), tenantId: t.tenantId } });
    assert.equal(ok.status, 200, ok.text);
    await until('awaiting approval', async () => (await grant(t.requester.key, id)).state === 'awaiting_approval');
    assert.equal((await approve(t.p1.key, id)).status, 200);
    assert.equal((await approve(t.p2.key, id)).status, 200);
    await until('active', async () => (await grant(t.requester.key, id)).state === 'active');
    const credential = (await fetchCredential(t.requester.key, id)).body.credential;
    assert.equal((await signIn(t, credential)).status, 201);
    await until('review', async () => (await grant(t.requester.key, id)).state === 'awaiting_review', 20_000);
    assert.equal((await signIn(t, credential)).status, 401);
    const acct = (await findAccount(h.db, t.tenantId, t.bgAccount))!;
    assert.equal(acct.auth_method, 'sso');
    const pw = await passwordCredentialOf(h.db, acct.id);
    assert.equal(pw, undefined, 'no password was ever created for the SSO-managed account');
    assert.equal((await grant(t.requester.key, id)).rotated, false, 'nothing local to rotate');
    const tenant = await tenantRow(h.db, t.tenantId);
    assert.equal(tenant.auth_mode, 'sso_enforced', 'SSO stays enforced');
    const refused = await h.api('POST', '/v1/recoveries', { key: t.requester.key, body: recoveryBody(t.tenantId, t.bgAccount) });
    assert.equal(refused.body.status, 'refused', 'a password reset is still refused afterwards');
    assert.equal(
      (await h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'IdP outage INC-9' } })).status,
      200,
    );
    await until('completed', async () => (await grant(t.requester.key, id)).state === 'completed');
  });

  it('is refused for a tenant that has no IdP', async () => {
    const t = await team('local');
    const r = await request(t, { kind: 'sso_bypass' });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'sso_bypass_not_applicable');
  });
});

describe('reviews are independent', () => {
  it('a reviewer who approved the grant cannot review it, directly either', async () => {
    const t = await team();
    const both = await seedPrincipal(h, ['break_glass_approver', 'reviewer'], [t.tenantId]);
    const r = await request(t, { durationSeconds: 1 });
    const id = r.body.id;
    assert.equal((await approve(both.key, id)).status, 200);
    assert.equal((await approve(t.p2.key, id)).status, 200);
    await until('review', async () => (await grant(t.requester.key, id)).state === 'awaiting_review', 20_000);
    const bad = await h.api('POST', `/v1/break-glass/${id}/review`, { key: both.key, body: { outcome: 'appropriate', notes: 'mine' } });
    assert.equal(bad.status, 403);
    assert.equal(bad.body.error.code, 'reviewer_not_independent');
    await assert.rejects(
      h.client.workflow
        .getHandle(await workflowIdOf(id))
        .executeUpdate(accessReviewUpdate, { args: [{ principalId: both.id, roles: ['reviewer'], tenantScope: ['*'], outcome: 'appropriate', notes: 'x' }] }),
      (err: unknown) =>
        (err as WorkflowUpdateFailedError).cause instanceof Error && ((err as WorkflowUpdateFailedError).cause as { type?: string }).type === 'unattested',
    );
    assert.equal((await grant(t.requester.key, id)).state, 'awaiting_review', 'still open until an independent review');
  });
});
