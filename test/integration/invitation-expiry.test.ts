// An unused invitation expires at its 24 h, on the time-skipping test server: the workflow's
// timer ends the link, the invitation is recorded expired and audited, and an authenticator
// enrolled without a password being set is removed, so the account can be invited again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAccount } from '../../store/directory';
import { startHarness, type Harness } from '../../testkit/engine';
import { activeFactorsOf, found } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { codeIn, enrol, invitationState, invite } from '../../testkit/invitations';
import { seedAccount, seedTenant } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.close();
});

describe('an invitation lives at most 24 hours', () => {
  it('unused, it expires at 24 h: recorded and audited, its link dead, its factor gone, the account invitable again', async () => {
    const tenantId = await seedTenant(h, 'local');
    const accountId = await seedAccount(h, tenantId, { password: null });
    const inv = await invite(h, tenantId, accountId);
    await until('pending', async () => (await invitationState(h, inv.id)) === 'pending');
    const secret = await enrol(h, tenantId, inv.token);
    const confirmed = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: codeIn(secret) } });
    assert.equal(confirmed.status, 200, confirmed.text);
    const acct = found(await findAccount(h.db, tenantId, accountId), accountId);
    assert.equal((await activeFactorsOf(h.db, acct.id)).length, 1, 'a confirmed factor, but no password yet');

    await h.testEnv!.sleep('23 hours');
    assert.equal(await invitationState(h, inv.id), 'pending', 'still pending before 24 h');
    await h.testEnv!.sleep('1 hour');
    await h.testEnv!.sleep('5 seconds');
    await until('expired', async () => (await invitationState(h, inv.id)) === 'expired', 30_000);

    const view = (await h.api('GET', `/v1/invitations/${inv.id}`)).body;
    assert.equal(view.factorConfirmed, false);
    assert.ok(view.endedAt, 'the invitation has ended');
    const expired = await auditEvents(h.db, { caseId: inv.id, action: 'invitation.expired' });
    assert.equal(expired.length, 1);
    assert.equal(expired[0].details.ttlSeconds, 24 * 3600);
    for (const r of [
      await h.api('GET', `/v1/links/${inv.token}?tenant=${tenantId}`, { key: null }),
      await h.api('POST', '/v1/links/factor', { key: null, body: { token: inv.token, tenantId, factor: { type: 'totp' } } }),
      await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: 'velvet-harbor-keeps-27-lamps' } }),
    ]) {
      assert.equal(r.status, 404, r.text);
      assert.equal(r.body.error.code, 'link_invalid');
    }
    assert.equal((await activeFactorsOf(h.db, acct.id)).length, 0, 'no factor of the unfinished registration is left');
    // The account can be invited again.
    const again = await h.api('POST', '/v1/invitations', { body: { tenantId, accountId } });
    assert.equal(again.status, 202, again.text);
  });
});
