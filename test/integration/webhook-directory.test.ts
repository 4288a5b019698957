// The signed webhook directory (issue 12): the client against the reference receiver over real
// HTTP for every operation; retries under one idempotency key apply once; raw requests with a bad
// signature, an unknown key id or a stale timestamp are refused by the receiver; and each failure
// mode of a user store maps to the right typed error (timeouts and 5xx retryable, 4xx not).
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookDirectoryClient, WebhookDirectoryError, type WebhookErrorKind } from '../../infra/webhook-directory';
import { signRequest } from '../../infra/webhook-signing';
import { sha256, startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';

const key = { id: 'k2', secret: 'receiver-shared-secret-0123456789abcdef' };
let rx: WebhookReceiver;
let client: ReturnType<typeof webhookDirectoryClient>;
let n = 0;
const idem = () => `wf-test:step-${++n}`;

before(async () => {
  rx = await startWebhookReceiver({ k1: 'retired-but-still-listed-secret-000000', k2: key.secret });
  client = webhookDirectoryClient({ baseUrl: rx.url, key, production: false, timeoutMs: 2000 });
});
after(async () => {
  await rx?.close();
});
beforeEach(() => {
  rx.accounts.clear();
  rx.applied.length = 0;
  rx.refused.length = 0;
});

async function rejects(p: Promise<unknown>, kind: WebhookErrorKind, retryable: boolean, reason?: string | RegExp) {
  const err = await p.then(
    () => assert.fail(`expected ${kind}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WebhookDirectoryError, String(err));
  assert.equal(err.kind, kind, err.message);
  assert.equal(err.retryable, retryable);
  if (typeof reason === 'string') assert.equal(err.reason, reason);
  else if (reason) assert.match(err.reason, reason);
  return err;
}

describe('every operation of the contract works against the reference receiver', () => {
  it('looks up an account, its addresses, and answers null for one that does not exist', async () => {
    rx.addAccount('u/1', { role: 'admin', addresses: ['a@example.com', 'b@example.com'] });
    const a = await client.lookup('u/1');
    assert.deepEqual(a, {
      exists: true,
      role: 'admin',
      authMethod: 'local',
      addresses: ['a@example.com', 'b@example.com'],
      active: true,
      knowledgeFactors: 'none',
    });
    assert.deepEqual(await client.addresses('u/1'), ['a@example.com', 'b@example.com']);
    assert.equal(await client.lookup('nobody'), null);
    assert.deepEqual(await client.addresses('nobody'), []);
  });

  it('applies a new password, and refuses one for an SSO-managed account with the reason', async () => {
    const a = rx.addAccount('u1');
    await client.setPassword('u1', 'correct horse battery staple', 'recovery:t:u1', { idempotencyKey: idem() });
    assert.equal(a.passwordHash, sha256('correct horse battery staple'));
    rx.addAccount('sso1', { authMethod: 'sso' });
    const err = await rejects(client.setPassword('sso1', 'never-shown-password', 'e', { idempotencyKey: idem() }), 'refused', false, 'sso_managed');
    assert.doesNotMatch(`${err.message} ${JSON.stringify(err)}`, /never-shown-password|receiver-shared-secret/);
  });

  it('removes MFA factors (keeping the actor’s own) and requires enrolment', async () => {
    const a = rx.addAccount('u1', { mfaFactors: [{ id: 'totp' }, { id: 'key', enrolledBy: 'u1' }, { id: 'sms' }] });
    assert.deepEqual(await client.resetMfa('u1', { by: 'agent', keepEnrolledBy: 'u1' }, { idempotencyKey: idem() }), { removed: 2, enrolmentRequired: true });
    assert.deepEqual(a.mfaFactors, [{ id: 'key', enrolledBy: 'u1' }]);
    assert.equal(a.enrolmentRequired, true);
    assert.deepEqual(await client.resetMfa('u1', { by: 'agent' }, { idempotencyKey: idem() }), { removed: 1, enrolmentRequired: true });
  });

  it('revokes the sessions of one emergency credential, then every session', async () => {
    const a = rx.addAccount('u1', { sessions: [{ id: 's1' }, { id: 's2', grantId: 'bg_1' }, { id: 's3', grantId: 'bg_1' }] });
    assert.deepEqual(await client.revokeSessions('u1', { reason: 'grant ended', grantId: 'bg_1' }, { idempotencyKey: idem() }), { revoked: 2 });
    assert.deepEqual(
      a.sessions.map((s) => s.id),
      ['s1'],
    );
    assert.deepEqual(await client.revokeSessions('u1', { reason: 'password reset' }, { idempotencyKey: idem() }), { revoked: 1 });
    assert.equal(a.sessions.length, 0);
  });

  it('disables and enables an account', async () => {
    const a = rx.addAccount('u1');
    assert.deepEqual(await client.disable('u1', { reason: 'offboarding', by: 'admin' }, { idempotencyKey: idem() }), { active: false });
    assert.equal((await client.lookup('u1'))?.active, false);
    assert.deepEqual(await client.enable('u1', { reason: 'back', by: 'admin' }, { idempotencyKey: idem() }), { active: true });
    assert.equal(a.active, true);
  });

  it('rotates the break-glass credential; an SSO-managed account has none to rotate', async () => {
    const a = rx.addAccount('root', { role: 'admin', passwordHash: sha256('known') });
    const r = await client.rotateCredential('root', 'access:bg_1', { idempotencyKey: idem() });
    assert.equal(r.rotated, true);
    assert.notEqual(a.passwordHash, sha256('known'));
    rx.addAccount('sso1', { authMethod: 'sso' });
    assert.equal((await client.rotateCredential('sso1', 'access:bg_2', { idempotencyKey: idem() })).rotated, false);
  });
});

describe('a retried call under one idempotency key applies once', () => {
  it('answers a repeated request with the first answer without applying it again', async () => {
    const a = rx.addAccount('root');
    const k = idem();
    const first = await client.rotateCredential('root', 'access:bg_1', { idempotencyKey: k });
    const hashAfterFirst = a.passwordHash;
    assert.deepEqual(await client.rotateCredential('root', 'access:bg_1', { idempotencyKey: k }), first);
    assert.equal(a.passwordHash, hashAfterFirst);
    assert.equal(a.credentialVersion, 2);
    assert.equal(rx.applied.length, 1);
  });

  it('applies once when the first answer was lost to a timeout and the call is retried', async () => {
    rx.addAccount('u1', { sessions: [{ id: 's1' }, { id: 's2' }] });
    rx.failNext('revokeSessions', { kind: 'slow', ms: 600 });
    const k = idem();
    await rejects(client.revokeSessions('u1', { reason: 'reset' }, { idempotencyKey: k, timeoutMs: 150 }), 'timeout', true);
    for (let i = 0; rx.applied.length === 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rx.applied.length, 1, 'the receiver applied the first attempt');
    assert.deepEqual(await client.revokeSessions('u1', { reason: 'reset' }, { idempotencyKey: k }), { revoked: 2 });
    assert.equal(rx.applied.length, 1);
  });

  it('applies once after a 5xx is retried', async () => {
    const a = rx.addAccount('u1');
    rx.failNext('setPassword', { kind: 'status', status: 503 });
    const k = idem();
    await rejects(client.setPassword('u1', 'pw-one', 'e', { idempotencyKey: k }), 'unavailable', true, 'injected_503');
    await client.setPassword('u1', 'pw-one', 'e', { idempotencyKey: k });
    assert.equal(a.passwordHash, sha256('pw-one'));
    assert.equal(rx.applied.length, 1);
  });

  it('refuses the same key with a different body (a replay or a bug), without applying it', async () => {
    const a = rx.addAccount('u1');
    const k = idem();
    await client.setPassword('u1', 'pw-one', 'e', { idempotencyKey: k });
    await rejects(client.setPassword('u1', 'pw-two', 'e', { idempotencyKey: k }), 'refused', false, 'idempotency_key_reused');
    assert.equal(a.passwordHash, sha256('pw-one'));
  });
});

describe('the receiver refuses a request that is not signed as the contract says', () => {
  const path = '/accounts/u1/disable';
  const body = JSON.stringify({ reason: 'x', by: 'y' });
  const now = () => Math.floor(Date.now() / 1000);
  const send = (headers: Record<string, string>) =>
    fetch(rx.url + path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error: { code: string } },
    }));
  const signed = (over: { timestamp?: number; secret?: string; id?: string } = {}) =>
    signRequest(
      { id: over.id ?? key.id, secret: over.secret ?? key.secret },
      { method: 'POST', path, timestamp: over.timestamp ?? now(), idempotencyKey: idem(), body },
    );

  it('accepts a correctly signed raw request (the control)', async () => {
    rx.addAccount('u1');
    assert.equal((await send(signed())).status, 200);
  });

  for (const [name, headers, reason] of [
    ['a signature made with another secret', () => signed({ secret: 'not-the-shared-secret-0000000000000000' }), 'bad_signature'],
    ['a tampered signature', () => ({ ...signed(), 'x-recovery-signature': 'v1=' + '0'.repeat(64) }), 'bad_signature'],
    ['a key id the receiver does not hold', () => signed({ id: 'k9' }), 'unknown_key'],
    ['a key id naming another of its keys', () => ({ ...signed(), 'x-recovery-key-id': 'k1' }), 'bad_signature'],
    ['a timestamp six minutes old', () => signed({ timestamp: now() - 360 }), 'stale_timestamp'],
    ['a timestamp six minutes ahead', () => signed({ timestamp: now() + 360 }), 'stale_timestamp'],
    ['no signature at all', () => ({ 'idempotency-key': idem() }), 'missing_header'],
  ] as const) {
    it(`refuses ${name} with 401 ${reason}, changing nothing`, async () => {
      const a = rx.addAccount('u1');
      const r = await send(headers());
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, reason);
      assert.equal(a.active, true);
      assert.deepEqual(rx.refused, [{ reason, path }]);
    });
  }

  it('maps its 401 to a non-retryable unauthorized error in the client', async () => {
    rx.addAccount('u1');
    const wrong = webhookDirectoryClient({ baseUrl: rx.url, key: { id: 'k2', secret: 'a-wrong-secret-000000000000000000' }, production: false });
    await rejects(wrong.disable('u1', { reason: 'x', by: 'y' }, { idempotencyKey: idem() }), 'unauthorized', false, 'bad_signature');
  });
});

describe('failure modes of a user store map to typed errors', () => {
  it('no answer within the timeout is a retryable timeout', async () => {
    rx.addAccount('u1');
    rx.failNext('resetMfa', { kind: 'hang' });
    await rejects(client.resetMfa('u1', { by: 'a' }, { idempotencyKey: idem(), timeoutMs: 200 }), 'timeout', true);
  });

  it('a slow answer within the timeout succeeds', async () => {
    rx.addAccount('u1');
    rx.failNext('lookup', { kind: 'slow', ms: 200 });
    assert.equal((await client.lookup('u1'))?.exists, true);
  });

  it('5xx is retryable; a refused connection is retryable', async () => {
    rx.addAccount('u1');
    rx.failNext('enable', { kind: 'status', status: 500 });
    await rejects(client.enable('u1', { reason: 'x', by: 'y' }, { idempotencyKey: idem() }), 'unavailable', true);
    const gone = webhookDirectoryClient({ baseUrl: 'http://127.0.0.1:1', key, production: false });
    await rejects(gone.lookup('u1'), 'unavailable', true, /^network/);
  });

  it('a missing account is a non-retryable not_found; 403 is a non-retryable forbidden', async () => {
    await rejects(client.setPassword('ghost', 'pw', 'e', { idempotencyKey: idem() }), 'not_found', false, 'account_not_found');
    rx.addAccount('u1');
    rx.failNext('disable', { kind: 'status', status: 403, code: 'protected_account' });
    await rejects(client.disable('u1', { reason: 'x', by: 'y' }, { idempotencyKey: idem() }), 'forbidden', false, 'protected_account');
  });

  it('a 422 is a non-retryable refusal carrying the receiver’s reason', async () => {
    rx.addAccount('u1');
    rx.failNext('setPassword', { kind: 'status', status: 422, code: 'password_policy' });
    await rejects(client.setPassword('u1', 'pw', 'e', { idempotencyKey: idem() }), 'refused', false, 'password_policy');
  });
});

describe('an answer outside the contract', () => {
  it('is a non-retryable bad_response', async () => {
    rx.addAccount('u1');
    rx.failNext('rotateCredential', { kind: 'status', status: 200, code: 'not_the_answer_shape' });
    await rejects(client.rotateCredential('u1', 'e', { idempotencyKey: idem() }), 'bad_response', false);
  });
});

describe('the client refuses plaintext in production', () => {
  it('refuses an http base URL when production, accepts https', () => {
    assert.throws(() => webhookDirectoryClient({ baseUrl: rx.url, key, production: true }), /https in production/);
    assert.throws(() => webhookDirectoryClient({ baseUrl: 'https://u:p@users.example.com', key, production: true }), /credentials/);
    assert.doesNotThrow(() => webhookDirectoryClient({ baseUrl: 'https://users.example.com/hooks', key, production: true }));
  });
});
