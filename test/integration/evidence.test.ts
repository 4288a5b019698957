// The evidence bundle of a recovery and of a break-glass grant, run for real end to end, checked
// field by field in JSON and on the printable page: what justified each step, who (the person)
// decided, when, and the proof that the audit chain holding it verifies. Never a link or secret.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../../testkit/browser';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { KNOWLEDGE, recoveryBody, seedAccount, seedBreakGlassTeam, seedIngestion, seedLogin, seedPrincipal, seedTenant, setPolicy } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
let done: Recovered;
before(async () => {
  h = await startHarness();
  done = await completedReset();
});
after(async () => {
  await h?.close();
});

const NEW_PASSWORD = 'lantern-otter-keeps-27-maps';

/** A justification that would break a page that did not escape: it must show as text. */
const JUSTIFICATION = 'Locked out after phone loss <script>alert(1)</script> & "quotes"';

interface Recovered {
  tenantId: string;
  id: string;
  auditorKey: string;
  agent: { id: string };
  approver: { id: string };
  token: string;
}

/** An admin's password reset: Tier 1 and 2, one approval, a 2 s waiting period, the link, completion. */
async function completedReset(): Promise<Recovered> {
  const tenantId = await seedTenant(h, 'local');
  await setPolicy(h, tenantId, { approvalDeadlineSeconds: 60, rules: { password_reset: { privileged: { waitSeconds: 2 } } } });
  const accountId = await seedAccount(h, tenantId, { role: 'admin' });
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  const approver = await seedPrincipal(h, ['approver'], [tenantId]);
  const auditor = await seedPrincipal(h, ['auditor'], [tenantId]);
  await seedLogin(h, (await seedIngestion(h, [tenantId])).key, tenantId, accountId);
  const created = await h.api('POST', '/v1/recoveries', {
    key: agent.key,
    body: recoveryBody(tenantId, accountId, { reason: JUSTIFICATION, ticketRef: 'SUP-7781' }),
  });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  for (const body of [{ tier: 1, answers: KNOWLEDGE }, { tier: 2 }]) {
    const v = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body });
    assert.equal(v.status, 200, v.text);
  }
  const a = await h.api('POST', `/v1/recoveries/${id}/approvals`, {
    key: approver.key,
    body: { decision: 'approve', comment: 'called back on the number on file' },
  });
  assert.equal(a.status, 200, a.text);
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(`${accountId}@${tenantId}.test`), 30_000);
  const token = tokenFrom(mail);
  const redeemed = await h.api('POST', '/v1/links/redeem', { key: null, body: { token, tenantId, newPassword: NEW_PASSWORD } });
  assert.equal(redeemed.status, 200, redeemed.text);
  await until('completed', async () => (await h.api('GET', `/v1/recoveries/${id}`, { key: agent.key })).body.state === 'completed', 30_000);
  return { tenantId, id, auditorKey: auditor.key, agent, approver, token };
}

describe('a recovery evidence bundle (JSON)', () => {
  it('holds the request, risk, each tier with its evidence, the approval by its person, the waiting period and the final state', async () => {
    const r = await h.api('GET', `/v1/recoveries/${done.id}/evidence`, { key: done.auditorKey });
    assert.equal(r.status, 200, r.text);
    const b = r.body;
    assert.equal(b.case.id, done.id);
    assert.equal(b.case.finalState, 'completed');
    assert.ok(b.case.endedAt);
    assert.equal(b.request.justification, JUSTIFICATION);
    assert.equal(b.request.ticketRef, 'SUP-7781');
    assert.equal(b.request.requestedBy.principalId, done.agent.id);
    assert.match(b.request.requestedBy.person, /@staff\.test$/, 'the person behind the requesting key');
    assert.equal(b.risk.tier, 'low');
    assert.ok(b.risk.assessedAt);
    const tiers = b.verifications.map((v: { tier: number; result: string }) => `${v.tier}:${v.result}`);
    assert.deepEqual(tiers.slice(0, 2), ['1:passed', '2:passed'], JSON.stringify(b.verifications));
    assert.ok(b.verifications[1].evidence.length > 0, 'tier 2 names its signals');
    assert.equal(b.approvals.length, 1);
    assert.equal(b.approvals[0].decision, 'approve');
    assert.equal(b.approvals[0].by.principalId, done.approver.id);
    assert.match(b.approvals[0].by.person, /@staff\.test$/);
    assert.equal(b.approvals[0].by.personConfirmed, true);
    assert.equal(b.approvals[0].comment, 'called back on the number on file');
    assert.ok(b.waitingPeriod?.startedAt && b.waitingPeriod.until && b.waitingPeriod.endedAt, JSON.stringify(b.waitingPeriod));
    assert.ok(Date.parse(b.waitingPeriod.endedAt) >= Date.parse(b.waitingPeriod.until) - 1000, 'the wait ran its course');
  });

  it('lists notifications (to whom, when), link times and revocations, but never a link, token or hash of one', async () => {
    const r = await h.api('GET', `/v1/recoveries/${done.id}/evidence`, { key: done.auditorKey });
    const b = r.body;
    const templates = b.notifications.map((n: { template: string }) => n.template);
    assert.ok(templates.includes('password_changed'), templates.join(','));
    for (const n of b.notifications) assert.ok(n.to && n.at && typeof n.recipients === 'number', JSON.stringify(n));
    const reset = b.tokens.find((t: { purpose: string }) => t.purpose === 'password_reset');
    assert.ok(reset?.issuedAt && reset.mailedAt && reset.redeemedAt, JSON.stringify(b.tokens));
    assert.ok(
      b.revocationsAndRotations.some((x: { details: { sessionsRevoked?: number } }) => typeof x.details.sessionsRevoked === 'number'),
      JSON.stringify(b.revocationsAndRotations),
    );
    assert.ok(!r.text.includes(done.token), 'the link token is nowhere');
    assert.ok(!r.text.includes(done.token.split('.').pop()!), 'nor its secret part');
    assert.ok(!/token_hash|credential_hash|key_hash/.test(r.text));
  });

  it('names the run with a link into the Temporal UI, and its audit events with hashes and the proof that the chain verifies', async () => {
    const b = (await h.api('GET', `/v1/recoveries/${done.id}/evidence`, { key: done.auditorKey })).body;
    assert.match(b.workflow.workflowId, /^recovery:/);
    assert.ok(b.workflow.runId, 'the run id');
    assert.equal(
      b.workflow.uiLink,
      `${h.config.temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(b.workflow.workflowId)}/${b.workflow.runId}/history`,
    );
    const actions = b.audit.events.map((e: { action: string }) => e.action);
    for (const a of ['recovery.requested', 'verification.passed', 'approval.granted', 'recovery.waiting_period_started', 'recovery.completed'])
      assert.ok(actions.includes(a), `${a} in ${actions.join(', ')}`);
    for (const e of b.audit.events) assert.match(e.hash, /^[0-9a-f]{64}$/);
    assert.equal(b.audit.proof.chainValid, true);
    assert.equal(b.audit.proof.caseEventsCovered, true);
    const verdict = (await h.api('GET', `/v1/audit/verify?tenantId=${done.tenantId}`, { key: done.auditorKey })).body;
    assert.equal(b.audit.proof.headHash, verdict.headHash);
  });

  it('is for auditors of the tenant only: an agent gets 403, an auditor of another tenant 404', async () => {
    const agentKey = (await seedPrincipal(h, ['agent'], [done.tenantId])).key;
    assert.equal((await h.api('GET', `/v1/recoveries/${done.id}/evidence`, { key: agentKey })).status, 403);
    const other = await seedTenant(h, 'local');
    const outsider = await seedPrincipal(h, ['auditor'], [other]);
    const r = await h.api('GET', `/v1/recoveries/${done.id}/evidence`, { key: outsider.key });
    assert.equal(r.status, 404, r.text);
  });
});

describe('the printable page (format=html)', () => {
  it('shows the key facts as escaped text, with no script', async () => {
    const r = await fetch(`${h.baseUrl}/v1/recoveries/${done.id}/evidence?format=html`, { headers: { authorization: `Bearer ${done.auditorKey}` } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const page = await r.text();
    assert.ok(!/<script/i.test(page), 'no script on the page, the justification included');
    assert.ok(page.includes('Locked out after phone loss &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;'), 'the justification, escaped');
    for (const fact of [done.id, 'SUP-7781', 'completed', 'called back on the number on file', done.approver.id, 'The audit chain verifies'])
      assert.ok(page.includes(fact), `the page shows ${fact}`);
    assert.ok(!page.includes(done.token));
  });
});

describe('a break-glass evidence bundle', () => {
  it('holds the two approvals by person, the credential times (never the value) and the review', async () => {
    const t = await seedBreakGlassTeam(h);
    const auditor = await seedPrincipal(h, ['auditor'], [t.tenantId]);
    const req = await h.api('POST', '/v1/break-glass', {
      key: t.requester.key,
      body: {
        tenantId: t.tenantId,
        target: { designated: true },
        justification: 'prod database locked after failed migration',
        ticketRef: 'INC-4242',
        durationSeconds: 4,
      },
    });
    assert.equal(req.status, 202, req.text);
    const id = req.body.id as string;
    for (const p of [t.p1, t.p2]) {
      const d = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: `approved by ${p.id}` } });
      assert.equal(d.status, 200, d.text);
    }
    await until('active', async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body.state === 'active', 30_000);
    const cred = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: t.requester.key });
    assert.equal(cred.status, 200, cred.text);
    await until('awaiting review', async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.reviewer.key })).body.state === 'awaiting_review', 30_000);
    const rv = await h.api('POST', `/v1/break-glass/${id}/review`, { key: t.reviewer.key, body: { outcome: 'appropriate', notes: 'matches INC-4242' } });
    assert.equal(rv.status, 200, rv.text);
    await until('completed', async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.reviewer.key })).body.state === 'completed', 30_000);

    const r = await h.api('GET', `/v1/break-glass/${id}/evidence`, { key: auditor.key });
    assert.equal(r.status, 200, r.text);
    const b = r.body;
    assert.equal(b.case.type, 'break_glass');
    assert.equal(b.request.justification, 'prod database locked after failed migration');
    assert.equal(b.risk.tier, 'high');
    assert.deepEqual(b.approvals.map((a: { by: { principalId: string } }) => a.by.principalId).sort(), [t.p1.id, t.p2.id].sort());
    assert.ok(
      b.approvals.every((a: { by: { person: string | null } }) => a.by.person),
      'each approval names its person',
    );
    assert.equal(b.credentials.length, 1);
    assert.ok(b.credentials[0].createdAt && b.credentials[0].fetchedAt && b.credentials[0].expiresAt, JSON.stringify(b.credentials));
    assert.equal(b.review.outcome, 'appropriate');
    assert.equal(b.review.by.principalId, t.reviewer.id);
    assert.equal(b.audit.proof.chainValid, true);
    const secret = cred.body.credential as string;
    assert.ok(secret && !r.text.includes(secret) && !r.text.includes(secret.split('.').pop()!), 'the credential value is nowhere in the bundle');
  });
});

describe('the printable page in a real browser', () => {
  it("Debian's Chromium renders the key facts, takes a screenshot, and prints the page to a PDF", async () => {
    const logDir = process.env.TEST_LOG_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-evidence-'));
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.setExtraHTTPHeaders({ authorization: `Bearer ${done.auditorKey}` });
      const res = await page.goto(`${h.baseUrl}/v1/recoveries/${done.id}/evidence?format=html`);
      assert.equal(res?.status(), 200);
      const visible = await page.locator('body').innerText();
      for (const fact of [
        `Evidence: recovery ${done.id}`,
        'Final state: completed',
        JUSTIFICATION,
        'SUP-7781',
        'called back on the number on file',
        'The audit chain verifies',
      ])
        assert.ok(visible.includes(fact), `the page shows ${JSON.stringify(fact)}`);
      assert.equal(await page.locator('script').count(), 0, 'the justification stayed text: no script element');
      const shot = path.join(logDir, 'evidence-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(fs.statSync(shot).size > 10_000, 'a screenshot with something on it');
      process.stdout.write(`screenshot: ${shot}\n`);
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
      const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
      assert.ok(pages >= 1 && pages <= 6, `prints on a few pages (${pages})`);
    } finally {
      await browser.close();
    }
  });
});
