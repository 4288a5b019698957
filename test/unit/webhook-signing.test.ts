// Signing of the webhook directory's calls (issue 12): the HMAC covers method, path, timestamp,
// idempotency key and body; verification refuses any change to them, an unknown key id, and a
// timestamp more than five minutes away; the contract's OpenAPI document lists every operation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalString, signRequest, verifyRequest, type SignedParts } from '../../infra/webhook-signing';
import { webhookOpenApi } from '../../infra/webhook-openapi';
import { WEBHOOK_OPERATIONS } from '../../infra/webhook-contract';

const key = { id: 'k1', secret: 'a-shared-secret-of-enough-length-0123456789' };
const keys = { k1: key.secret, k0: 'the-previous-secret-still-accepted-abcdefgh' };
const now = 1_800_000_000;
const parts: SignedParts = {
  method: 'POST',
  path: '/hooks/accounts/u%2F1/password',
  timestamp: now,
  idempotencyKey: 'wf-1:apply',
  body: '{"password":"x","by":"e"}',
};

const verify = (p: SignedParts, headers = signRequest(key, parts), at = now) => verifyRequest({ ...p, headers, keys, now: at });

describe('a signed request verifies only as it was signed', () => {
  it('verifies with the key its id names', () => {
    assert.deepEqual(verify(parts), { ok: true, keyId: 'k1', idempotencyKey: 'wf-1:apply' });
    const old = { id: 'k0', secret: keys.k0 };
    assert.equal(verify(parts, signRequest(old, parts)).ok, true);
  });

  it('is refused when the method, path, body or idempotency key differ from what was signed', () => {
    const headers = signRequest(key, parts);
    for (const changed of [{ method: 'PUT' }, { path: '/hooks/accounts/u%2F2/password' }, { body: '{"password":"y","by":"e"}' }]) {
      assert.deepEqual(verify({ ...parts, ...changed }, headers), { ok: false, reason: 'bad_signature' }, JSON.stringify(changed));
    }
    assert.deepEqual(verify(parts, { ...headers, 'idempotency-key': 'wf-1:other' }), { ok: false, reason: 'bad_signature' });
  });

  it('is refused under an unknown key id, or a key id naming another secret', () => {
    assert.deepEqual(verify(parts, { ...signRequest(key, parts), 'x-recovery-key-id': 'k9' }), { ok: false, reason: 'unknown_key' });
    assert.deepEqual(verify(parts, { ...signRequest(key, parts), 'x-recovery-key-id': 'k0' }), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(verify(parts, { ...signRequest(key, parts), 'x-recovery-key-id': '__proto__' }), { ok: false, reason: 'unknown_key' });
  });

  it('is refused more than five minutes after or before its timestamp', () => {
    assert.equal(verify(parts, undefined, now + 300).ok, true);
    assert.deepEqual(verify(parts, undefined, now + 301), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(verify(parts, undefined, now - 301), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(verify(parts, { ...signRequest(key, parts), 'x-recovery-timestamp': 'soon' }), { ok: false, reason: 'stale_timestamp' });
  });

  it('is refused with a header missing or a malformed signature', () => {
    const unsigned: Record<string, string> = signRequest(key, parts);
    delete unsigned['x-recovery-signature'];
    assert.deepEqual(verify(parts, unsigned), { ok: false, reason: 'missing_header' });
    assert.deepEqual(verify(parts, { ...signRequest(key, parts), 'x-recovery-signature': 'v1=abc' }), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(verify(parts, { ...signRequest(key, parts), 'x-recovery-signature': 'v2=' + 'a'.repeat(64) }), { ok: false, reason: 'bad_signature' });
  });

  it('signs the SHA-256 of the body, one field a line', () => {
    const lines = canonicalString({ ...parts, body: '' }).split('\n');
    assert.deepEqual(lines.slice(0, 5), ['v1', 'POST', '/hooks/accounts/u%2F1/password', String(now), 'wf-1:apply']);
    assert.equal(lines[5], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('the contract document', () => {
  it('documents every operation with its answer and the signed headers', () => {
    const doc = webhookOpenApi() as { paths: Record<string, Record<string, { operationId: string; parameters: { name: string }[] }>> };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    assert.deepEqual(ops.map((o) => o.operationId).sort(), Object.keys(WEBHOOK_OPERATIONS).sort());
    for (const o of ops) assert.ok(o.parameters.some((p) => p.name === 'x-recovery-signature'));
  });
});
