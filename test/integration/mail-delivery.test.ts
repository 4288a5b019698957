// Mail delivery faults, injected at the real SMTP sink: a transient 4xx is retried and the link
// delivered once; a permanent 5xx on a link ends the recovery as a visible delivery failure with
// the token invalidated; a permanent 5xx on a notice is recorded and does not hold the recovery.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createActivities } from '../../activities';
import { checkPassword } from '../../store/directory';
import { createMailer, messageIdFor, type Mailer } from '../../infra/mailer';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { credentialPickupOf, deliveriesKeyed, deliveriesOf, found, recoveryRow, tokensIssuedUnder, tokensOf } from '../../testkit/inspect';
import { auditActionsOf, auditEvents } from '../../testkit/inspect-audit';
import { uniq, KNOWLEDGE, recoveryBody, seedAccount, seedLocalAccount, seedPrincipal } from '../../testkit/seed';
import { until } from '../../testkit/wait';
import { rawHistoryText } from '../../testkit/history';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  h.smtpFaults.plan = undefined;
  await h?.close();
});

async function setup() {
  const { tenantId, accountId, agent } = await seedLocalAccount(h);
  return { tenantId, accountId, agent, primary: `${accountId}@${tenantId}.test`, home: `${accountId}.home@example.test` };
}

/** Request and Tier 1: the workflow then issues the completion link. */
async function startToLink(s: Awaited<ReturnType<typeof setup>>) {
  const created = await h.api('POST', '/v1/recoveries', { key: s.agent.key, body: recoveryBody(s.tenantId, s.accountId) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: s.agent.key, body: { tier: 1, answers: KNOWLEDGE } });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.passed, true);
  return id;
}

const auditActions = (id: string) => auditActionsOf(h.db, id);

describe('mail delivery faults', () => {
  it('a permanent 5xx on the reset link ends the recovery as failed, invalidates the token, records the failure and frees the account', async () => {
    const s = await setup();
    let attempts = 0;
    h.smtpFaults.plan = (_n, rcpt) => {
      if (!rcpt.includes(s.primary)) return null;
      attempts++;
      return { code: 550, message: `5.1.1 <${s.primary}>: mailbox unavailable` };
    };
    try {
      const id = await startToLink(s);
      const ended = await until('the recovery ends', async () => {
        const r = await h.api('GET', `/v1/recoveries/${id}`, { key: s.agent.key });
        return r.body.state === 'failed' && r;
      });
      assert.equal(ended.body.endedAt !== null, true, ended.text);
      await until('the end is recorded', async () => (await auditActions(id)).includes('recovery.delivery_failed'));

      assert.equal(attempts, 1, 'a 5xx is not retried');
      assert.equal(h.sink.list().filter((m) => m.to.includes(s.primary)).length, 0, 'no link reached the address');
      const tokens = await tokensOf(h.db, id);
      assert.equal(tokens.length, 1);
      assert.ok(tokens[0].invalidated_at, 'the token is invalidated');
      assert.equal(tokens[0].invalidated_reason, 'delivery_failed');
      assert.equal(tokens[0].mail_sent_at, null);
      const deliveries = await deliveriesOf(h.db, id, 'link:password_reset');
      assert.deepEqual(
        deliveries.map((d) => [d.status, d.dedupe_key]),
        [['failed', `token:${tokens[0].id}`]],
      );
      assert.match(deliveries[0].error ?? '', /550|mailbox unavailable/);
      const actions = await auditActions(id);
      assert.ok(
        actions.indexOf('link.delivery_failed') >= 0 && actions.indexOf('link.delivery_failed') < actions.indexOf('recovery.delivery_failed'),
        actions.join(', '),
      );
      assert.ok(!actions.includes('link.sent'), actions.join(', '));
      const row = await recoveryRow(h.db, id);
      assert.equal(row.state, 'failed');
      assert.ok(row.ended_at);
      // The row records the end before the workflow's last task completes: wait for it to close.
      const desc = await until('the workflow closes', async () => {
        const d = await h.client.workflow.getHandle(row.workflow_id).describe();
        return d.status.name !== 'RUNNING' && d;
      });
      assert.equal(desc.status.name, 'COMPLETED', 'the workflow closes normally with a failed outcome');
      // The failure message travels in clear in history: it must not carry the server's text.
      assert.ok(!(await rawHistoryText(h, row.workflow_id)).includes(s.primary), 'the refused address is not in history');

      // The account is free for a new attempt once the address is fixed.
      h.smtpFaults.plan = undefined;
      const again = await h.api('POST', '/v1/recoveries', { key: s.agent.key, body: recoveryBody(s.tenantId, s.accountId) });
      assert.equal(again.status, 202, again.text);
    } finally {
      h.smtpFaults.plan = undefined;
    }
  });

  it('a 4xx on the reset link is retried with a fresh token and delivered exactly once', async () => {
    const s = await setup();
    let refused = 0;
    h.smtpFaults.plan = (_n, rcpt) => {
      if (!rcpt.includes(s.primary) || refused >= 1) return null;
      refused++;
      return { code: 451, message: '4.3.0 try again later' };
    };
    try {
      const id = await startToLink(s);
      const mail = await h.sink.waitFor((m) => m.to.includes(s.primary) && m.subject.includes('Reset your'));
      await until('awaiting completion', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: s.agent.key })).body.state === 'awaiting_completion');
      assert.equal(refused, 1);
      const tokens = await tokensOf(h.db, id);
      assert.deepEqual(
        tokens.map((t) => [t.invalidated_reason, t.mail_sent_at !== null]),
        [
          ['delivery_deferred', false],
          [null, true],
        ],
      );
      assert.equal(mail.messageId, messageIdFor(tokens[1].id));
      const deliveries = await deliveriesOf(h.db, id, 'link:password_reset');
      assert.deepEqual(
        deliveries.map((d) => ({ status: d.status, dedupe_key: d.dedupe_key })),
        [{ status: 'sent', dedupe_key: `token:${tokens[1].id}` }],
      );
      assert.equal((await auditActions(id)).filter((a) => a === 'link.sent').length, 1);

      const ok = await h.api('POST', '/v1/links/redeem', {
        key: null,
        body: { token: tokenFrom(mail), tenantId: s.tenantId, newPassword: 'lantern-otter-carries-42-maps' },
      });
      assert.equal(ok.status, 200, ok.text);
      await until('completed', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: s.agent.key })).body.state === 'completed');
      assert.equal(h.sink.list().filter((m) => m.to.includes(s.primary) && m.subject.includes('Reset your')).length, 1, 'one link mail');
    } finally {
      h.smtpFaults.plan = undefined;
    }
  });

  it('a permanent 5xx on a notice is recorded (delivery row and audit) and the recovery still completes', async () => {
    const s = await setup();
    const id = await startToLink(s);
    const mail = await h.sink.waitFor((m) => m.to.includes(s.primary) && m.subject.includes('Reset your'));
    let refused = 0;
    // The "password changed" notice goes to every registered address; the home one now bounces.
    h.smtpFaults.plan = (_n, rcpt) => {
      if (!rcpt.includes(s.home)) return null;
      refused++;
      return { code: 554, message: '5.7.1 rejected' };
    };
    try {
      const ok = await h.api('POST', '/v1/links/redeem', {
        key: null,
        body: { token: tokenFrom(mail), tenantId: s.tenantId, newPassword: 'lantern-otter-carries-42-maps' },
      });
      assert.equal(ok.status, 200, ok.text);
      await until('the end is recorded', async () => (await auditActions(id)).includes('recovery.completed'));
      assert.equal(refused, 1, 'a 5xx notice is not retried');
      assert.equal(await checkPassword(h.db, s.tenantId, s.accountId, 'lantern-otter-carries-42-maps'), true, 'the reset is applied');
      const notice = found((await deliveriesOf(h.db, id, 'password_changed'))[0], 'password_changed delivery');
      assert.equal(notice.status, 'failed');
      assert.match(notice.error ?? '', /554|rejected/);
      const actions = await auditActions(id);
      assert.ok(
        actions.indexOf('email.delivery_failed') >= 0 && actions.indexOf('email.delivery_failed') < actions.indexOf('recovery.completed'),
        actions.join(', '),
      );
    } finally {
      h.smtpFaults.plan = undefined;
    }
  });
});

/**
 * A mailer whose first send reaches the server and then never returns, like a worker frozen or
 * killed right after SMTP accepted the message: nothing after the send runs until `release()`.
 */
function freezingMailer() {
  const real = createMailer(h.sink.url, h.config.mailFrom);
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const mailer: Mailer = {
    async send(m) {
      await real.send(m);
      if (++calls === 1) await gate;
    },
    close: () => real.close(),
  };
  return { mailer, release };
}

describe('issueLink is idempotent across retries', () => {
  it('a retry after the mail went out returns the same token and writes no second mail, row or audit event', async () => {
    const s = await setup();
    const id = await startToLink(s);
    await h.sink.waitFor((m) => m.to.includes(s.primary) && m.subject.includes('Reset your'));
    const acts = createActivities({ db: h.db, mailer: createMailer(h.sink.url, h.config.mailFrom), config: h.config });
    const args = { recoveryId: id, step: 'retry-probe', purpose: 'cancel' as const, ttlSeconds: 600, to: 'primary' as const };
    const before = h.sink.list().length;
    const first = await acts.issueLink(args);
    const second = await acts.issueLink(args);
    assert.equal(second.tokenId, first.tokenId);
    assert.equal(second.expiresAt, first.expiresAt);
    assert.equal(h.sink.list().length, before + 1, 'one mail for the two calls');
    const rows = await deliveriesKeyed(h.db, `token:${first.tokenId}`);
    assert.deepEqual(
      rows.map((r) => ({ status: r.status })),
      [{ status: 'sent' }],
    );
    const audits = await auditEvents(h.db, { eventKeyLike: `${id}:retry-probe:%` });
    assert.deepEqual(
      audits.map((a) => ({ event_key: a.event_key })),
      [{ event_key: `${id}:retry-probe:issued` }],
    );
  });

  it('a retry after a crash between the send and its bookkeeping issues a fresh token; each token is mailed at most once and recorded once', async () => {
    const s = await setup();
    const id = await startToLink(s);
    await h.sink.waitFor((m) => m.to.includes(s.primary) && m.subject.includes('Reset your'));
    const { mailer, release } = freezingMailer();
    const acts = createActivities({ db: h.db, mailer, config: h.config });
    const args = { recoveryId: id, step: 'crash-probe', purpose: 'cancel' as const, ttlSeconds: 600, to: 'primary' as const };
    const frozen = acts.issueLink(args);
    const first = await until('the first attempt sent its mail', async () => (await tokensIssuedUnder(h.db, `${id}:crash-probe`))[0]);
    await h.sink.waitFor((m) => m.messageId === messageIdFor(first.id));
    const retry = await acts.issueLink(args);
    const tokens = await tokensIssuedUnder(h.db, `${id}:crash-probe`);
    assert.equal(tokens.length, 2);
    assert.equal(tokens[0].id, first.id);
    assert.equal(tokens[1].id, retry.tokenId);
    assert.equal(tokens[0].invalidated_reason, 'superseded_before_send', 'the token whose send was not recorded is dead');
    assert.ok(tokens[1].mail_sent_at && !tokens[1].invalidated_at);
    const mails = h.sink.list().filter((m) => tokens.some((t) => messageIdFor(t.id) === m.messageId));
    assert.equal(mails.length, 2, 'one mail per token');
    assert.equal(new Set(mails.map((m) => m.messageId)).size, 2, 'no token mailed twice');
    release();
    await frozen;
    const audits = await auditEvents(h.db, { eventKeyLike: `${id}:crash-probe:%` });
    assert.equal(audits.length, 1, 'the late first attempt adds no second link.sent');
    assert.equal((audits[0].details as { tokenId: string }).tokenId, retry.tokenId);
  });
});

describe('a link used before its send was recorded', () => {
  it("is the token a retry returns: no second mail, and the owner's click counts", async () => {
    const s = await setup();
    const id = await startToLink(s);
    await h.sink.waitFor((m) => m.to.includes(s.primary) && m.subject.includes('Reset your'));
    const { mailer, release } = freezingMailer();
    const acts = createActivities({ db: h.db, mailer, config: h.config });
    const args = { recoveryId: id, step: 'used-probe', purpose: 'verify_possession' as const, ttlSeconds: 600, to: 'primary' as const };
    const frozen = acts.issueLink(args);
    const token = await until('the first attempt sent its mail', async () => (await tokensIssuedUnder(h.db, `${id}:used-probe`))[0]);
    const mail = await h.sink.waitFor((m) => m.messageId === messageIdFor(token.id));
    // The owner clicks before the activity's retry runs.
    const used = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId: s.tenantId } });
    assert.equal(used.status, 200, used.text);
    const before = h.sink.list().length;
    const retry = await acts.issueLink(args);
    assert.equal(retry.tokenId, token.id, 'the used token is the issued one');
    assert.equal(h.sink.list().length, before, 'no second mail');
    const rows = await tokensIssuedUnder(h.db, `${id}:used-probe`);
    assert.equal(rows.length, 1);
    assert.ok(rows[0].used_at && rows[0].mail_sent_at && !rows[0].invalidated_at);
    release();
    assert.equal((await frozen).tokenId, token.id);
    const audits = await auditEvents(h.db, { eventKey: `${id}:used-probe:issued` });
    assert.equal(audits.length, 1);
  });
});

describe('SSO bypass: the confirmation link is refused for good', () => {
  it('ends the grant as failed with the token invalidated and the failure recorded; nothing is granted', async () => {
    const tenantId = uniq('t');
    const bg = uniq('bg');
    const r = await h.api('POST', '/v1/admin/tenants', {
      body: { id: tenantId, name: tenantId, authMode: 'sso_enforced', securityContacts: [`sec@${tenantId}.test`], breakGlassAccount: bg },
    });
    assert.equal(r.status, 201, r.text);
    await seedAccount(h, tenantId, { externalId: bg, role: 'admin', authMethod: 'sso', password: null });
    const requester = await seedPrincipal(h, ['agent'], [tenantId]);
    let attempts = 0;
    h.smtpFaults.plan = (_n, rcpt) => (rcpt.includes(`sec@${tenantId}.test`) ? (attempts++, { code: 550, message: '5.1.1 no such user' }) : null);
    try {
      const started = await h.api('POST', '/v1/break-glass', {
        key: requester.key,
        body: { tenantId, kind: 'sso_bypass', target: { accountId: bg }, justification: 'IdP outage', ticketRef: 'INC-9', durationMinutes: 15 },
      });
      assert.equal(started.status, 202, started.text);
      const id = started.body.id as string;
      const ended = await until('the grant ends', async () => {
        const g = await h.api('GET', `/v1/break-glass/${id}`, { key: requester.key });
        return g.body.state === 'failed' && g;
      });
      assert.ok(ended.body.endedAt, ended.text);
      assert.equal(attempts, 1);
      const tokens = await tokensOf(h.db, id);
      assert.deepEqual(
        tokens.map((t) => ({ invalidated_reason: t.invalidated_reason, mail_sent_at: t.mail_sent_at })),
        [{ invalidated_reason: 'delivery_failed', mail_sent_at: null }],
      );
      const deliveries = await deliveriesOf(h.db, id);
      assert.deepEqual(
        deliveries.map((d) => ({ status: d.status, template: d.template })),
        [{ status: 'failed', template: 'link:sso_bypass_confirm' }],
      );
      const actions = await auditActionsOf(h.db, id);
      assert.ok(actions.includes('link.delivery_failed') && actions.at(-1) === 'access.confirmation_undelivered', actions.join(', '));
      assert.equal(await credentialPickupOf(h.db, id), undefined, 'no credential');
    } finally {
      h.smtpFaults.plan = undefined;
    }
  });
});
