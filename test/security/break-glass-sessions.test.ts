// Issue 11, item 4: a session opened with an emergency credential never outlives it. The
// sign-in inserts only while the credential is live (one statement, the credential row locked),
// the session carries the credential's expiry, and the public sign-in is rate-limited per IP and
// per account with the same answer whether or not the account exists.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAccount } from '../../store/directory';
import { sessionIsLive } from '../../store/sessions';
import { startHarness, type Harness } from '../../testkit/engine';
import { loseSessionRevocation, sessionInsertsInFlight, slowSessionInserts } from '../../testkit/faults';
import { found, sessionsOf } from '../../testkit/inspect';
import { nextIp, seedBreakGlassTeam, uniq } from '../../testkit/seed';
import { until } from '../../testkit/wait';

let h: Harness;
before(async () => {
  // Client addresses come from X-Forwarded-For, so one test can speak from many IPs.
  h = await startHarness({ env: { TRUST_PROXY: 'true' } });
});
after(async () => {
  await h?.close();
});

type Team = Awaited<ReturnType<typeof seedBreakGlassTeam>>;

/** An active break-glass grant of `seconds` and its picked-up credential. */
async function liveCredential(seconds: number) {
  const t = await seedBreakGlassTeam(h);
  const r = await h.api('POST', '/v1/break-glass', {
    key: t.requester.key,
    body: { tenantId: t.tenantId, target: { designated: true }, justification: 'prod database locked', ticketRef: 'INC-7', durationSeconds: seconds },
  });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  const grant = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: t.requester.key })).body;
  await until('awaiting approval', async () => (await grant()).state === 'awaiting_approval');
  for (const p of [t.p1, t.p2])
    assert.equal((await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'on the bridge' } })).status, 200);
  await until('active', async () => (await grant()).state === 'active');
  const picked = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: t.requester.key });
  assert.equal(picked.status, 200, picked.text);
  return { t, id, grant, credential: picked.body.credential as string, expiresAt: new Date(picked.body.expiresAt as string) };
}

const signIn = (t: Pick<Team, 'tenantId' | 'bgAccount'>, credential: string, ip = nextIp()) =>
  h.api('POST', '/v1/directory/sessions', {
    key: null,
    headers: { 'x-forwarded-for': ip },
    body: { tenantId: t.tenantId, accountId: t.bgAccount, credential },
  });

async function liveSessions(t: Team) {
  const acct = found(await findAccount(h.db, t.tenantId, t.bgAccount), 'break-glass account');
  const live: string[] = [];
  for (const s of await sessionsOf(h.db, acct.id)) if (await sessionIsLive(h.db, s.id)) live.push(s.id);
  return live;
}

describe('a sign-in racing the revoke', () => {
  it('a burst of sign-ins in flight while the credential is revoked leaves no live session', async () => {
    const g = await liveCredential(120);
    // Each insert dawdles, as a loaded database would: the revoke, and the rotation that signs
    // the account out after it, land inside the race window.
    const undo = await slowSessionInserts(h, 8);
    try {
      const burst = Array.from({ length: 3 }, () => signIn(g.t, g.credential));
      await until('sign-ins inserting', async () => (await sessionInsertsInFlight(h.db)) > 0);
      const revoke = await h.api('POST', `/v1/break-glass/${g.id}/revoke`, { key: g.t.requester.key, body: { reason: 'incident over' } });
      assert.equal(revoke.status, 200, revoke.text);
      const answers = await Promise.all(burst);
      for (const a of answers) assert.ok(a.status === 201 || a.status === 401, a.text);
      await until('credential revoked', async () => (await g.grant()).credential?.revokedReason != null);
    } finally {
      await undo();
    }
    await until('rotated', async () => (await g.grant()).rotated !== null, 30_000);
    assert.deepEqual(await liveSessions(g.t), [], 'no session may outlive the revoked credential');
    assert.equal((await signIn(g.t, g.credential)).status, 401);
  });
});

describe('a session carries its credential expiry', () => {
  it("the session's expires_at is the credential's, and a session that escaped revocation still dies at that expiry", async () => {
    const g = await liveCredential(4);
    const s = await signIn(g.t, g.credential);
    assert.equal(s.status, 201, s.text);
    const sessionId = s.body.sessionId as string;
    const acct = found(await findAccount(h.db, g.t.tenantId, g.t.bgAccount), 'break-glass account');
    const row = found(
      (await sessionsOf(h.db, acct.id)).find((x) => x.id === sessionId),
      'session',
    );
    assert.equal(row.expires_at ? new Date(row.expires_at).toISOString() : null, g.expiresAt.toISOString(), 'the session carries the credential expiry');
    assert.equal(await sessionIsLive(h.db, sessionId), true);
    await until('credential expired', async () => (await g.grant()).credential?.revokedReason === 'expired', 30_000);
    // As if the revocation at the TTL had been lost (the race above, an operator's mistake).
    await loseSessionRevocation(h.db, sessionId);
    assert.equal(await sessionIsLive(h.db, sessionId), false, 'past its expiry the session is refused, revoked or not');
  });
});

describe('the public sign-in is rate-limited', () => {
  const WRONG = `bgc_t1.${'A'.repeat(43)}`;

  it('per account: the 11th attempt within 10 minutes gets 429, from any IP, and the same answer for an account that does not exist', async () => {
    const t = await seedBreakGlassTeam(h);
    const ghost = { tenantId: t.tenantId, bgAccount: uniq('nobody') };
    const answers: Record<string, { status: number; body: unknown; retryAfter: string | null }[]> = { real: [], ghost: [] };
    for (const [name, who] of [
      ['real', t],
      ['ghost', ghost],
    ] as const) {
      for (let i = 0; i < 11; i++) {
        const r = await signIn(who, WRONG);
        answers[name].push({ status: r.status, body: r.body, retryAfter: r.headers.get('retry-after') });
      }
    }
    assert.deepEqual(
      answers.real.map((a) => a.status),
      [...Array(10).fill(401), 429],
    );
    const limited = answers.real[10];
    assert.equal((limited.body as { error: { code: string } }).error.code, 'rate_limited');
    assert.ok(Number(limited.retryAfter) > 0, 'retry-after is set');
    assert.deepEqual(answers.ghost, answers.real, 'an account that does not exist answers exactly the same');
  });

  it('per IP: the 21st attempt from one address within 10 minutes gets 429, whatever account it names', async () => {
    const t = await seedBreakGlassTeam(h);
    const ip = nextIp();
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await signIn({ tenantId: t.tenantId, bgAccount: uniq('acct') }, WRONG, ip)).status);
    assert.deepEqual(statuses, [...Array(20).fill(401), 429]);
    const other = await signIn({ tenantId: t.tenantId, bgAccount: uniq('acct') }, WRONG);
    assert.equal(other.status, 401, 'another address is not limited');
  });

  it('a valid credential from a limited address is refused too (429), and opens no session', async () => {
    const g = await liveCredential(120);
    const ip = nextIp();
    for (let i = 0; i < 20; i++) await signIn({ tenantId: g.t.tenantId, bgAccount: uniq('acct') }, WRONG, ip);
    const r = await signIn(g.t, g.credential, ip);
    assert.equal(r.status, 429, r.text);
    assert.deepEqual(await liveSessions(g.t), []);
  });
});
