// Issue 11 item 17: the public link routes must not tell a live token from an unknown one by how
// long they take. Answers are identical in status and body; this checks their timing too: many
// tries per category, interleaved in random order (load on the machine hits both alike), sent
// from a worker thread (a client outside the server's event loop), a rank test and a gap
// threshold on the medians. Failing needs both: a gap above 1 ms that the rank test finds
// significant. And the event the wrong-tenant path owes the audit log is still written.
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { countAuditEvents } from '../../testkit/inspect-audit';
import { KNOWLEDGE, recoveryBody, seedLocalAccount, seedTenant } from '../../testkit/seed';
import { mannWhitney, median } from '../../testkit/stats';
import { timeRequests, type TimedRequest } from '../../testkit/timing-client';
import { until } from '../../testkit/wait';

const TRIES = 200; // per route and category
const WARM_UP = 60; // split evenly over routes and categories
const MAX_GAP_MS = 1;
const ALPHA = 0.001;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** A live password-reset link of one tenant, and another tenant to present it in. */
async function liveLink() {
  const s = await seedLocalAccount(h);
  const other = await seedTenant(h, 'local');
  const created = await h.api('POST', '/v1/recoveries', { key: s.agent.key, body: recoveryBody(s.tenantId, s.accountId) });
  assert.equal(created.status, 202, created.text);
  const v = await h.api('POST', `/v1/recoveries/${created.body.id}/verifications`, { key: s.agent.key, body: { tier: 1, answers: KNOWLEDGE } });
  assert.equal(v.status, 200, v.text);
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(`${s.accountId}@${s.tenantId}.test`));
  return { token: tokenFrom(mail), tenantId: s.tenantId, otherTenant: other };
}

/** A well-formed token under the engine's key id that no link has: it reaches the hash lookup. */
const unknownToken = () => `${h.config.tokenKeys[0].id}.${crypto.randomBytes(32).toString('base64url')}`;

type Route = 'POST /v1/links/redeem' | 'POST /v1/links/cancel' | 'GET /v1/links/:token' | 'POST /v1/links/factor' | 'POST /v1/links/factor/confirm';
type Category = 'unknown' | 'live_wrong_tenant';

/** The request of one try: a fresh unknown token each time, or the live token in the other tenant. */
function requestFor(route: Route, token: string, tenantId: string): TimedRequest {
  if (route === 'GET /v1/links/:token') return { method: 'GET', path: `/v1/links/${token}?tenant=${tenantId}` };
  // An invitation's steps carry their own field; the token is looked up before it is read.
  const extra = route === 'POST /v1/links/factor' ? { factor: { type: 'totp' } } : route === 'POST /v1/links/factor/confirm' ? { code: '123456' } : {};
  return { method: 'POST', path: route.slice('POST '.length), body: { token, tenantId, ...extra } };
}

function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

describe('public link routes take as long for a live token in the wrong tenant as for an unknown one', () => {
  it("redeem, cancel, describe and an invitation's two steps: no significant median gap above 1 ms, identical answers, and every wrong-tenant try audited", async (t) => {
    const link = await liveLink();
    const routes: Route[] = [
      'POST /v1/links/redeem',
      'POST /v1/links/cancel',
      'GET /v1/links/:token',
      'POST /v1/links/factor',
      'POST /v1/links/factor/confirm',
    ];
    const categories: Category[] = ['unknown', 'live_wrong_tenant'];
    const tries = (n: number) => shuffled(routes.flatMap((route) => categories.flatMap((category) => Array.from({ length: n }, () => ({ route, category })))));
    const warmUp = tries(WARM_UP / (routes.length * categories.length));
    const plan = tries(TRIES);
    const requests = [...warmUp, ...plan].map(({ route, category }) =>
      requestFor(route, category === 'unknown' ? unknownToken() : link.token, link.otherTenant),
    );
    const timed = (await timeRequests(h.baseUrl, requests)).slice(warmUp.length);

    const samples = new Map<string, number[]>();
    const answers = new Map<Route, Set<string>>(routes.map((r) => [r, new Set<string>()]));
    plan.forEach(({ route, category }, i) => {
      const r = timed[i];
      assert.equal(r.status, 404, r.text);
      answers.get(route)!.add(r.text);
      const key = `${route} ${category}`;
      samples.set(key, [...(samples.get(key) ?? []), r.ms]);
    });

    const report: string[] = [];
    const leaks: string[] = [];
    for (const route of routes) {
      assert.equal(answers.get(route)!.size, 1, `${route}: every failure answers the same body`);
      const unknown = samples.get(`${route} unknown`)!;
      const live = samples.get(`${route} live_wrong_tenant`)!;
      const gap = median(live) - median(unknown);
      const { p } = mannWhitney(live, unknown);
      const line = `${route}: median unknown ${median(unknown).toFixed(2)} ms, live wrong tenant ${median(live).toFixed(2)} ms, gap ${gap.toFixed(2)} ms, p ${p.toExponential(2)}`;
      report.push(line);
      if (Math.abs(gap) > MAX_GAP_MS && p < ALPHA) leaks.push(line);
    }
    for (const line of report) t.diagnostic(line);
    assert.deepEqual(leaks, [], `timing tells a live token from an unknown one:\n${report.join('\n')}`);

    // Every wrong-tenant presentation (warm-up included) is audited in the token's tenant.
    const expected = (WARM_UP + TRIES * routes.length * categories.length) / 2;
    const audited = () => countAuditEvents(h.db, { tenantId: link.tenantId, action: 'link.rejected_tenant_mismatch' });
    await until(`${expected} mismatch events`, async () => (await audited()) >= expected);
    assert.equal(await audited(), expected);
  });
});
