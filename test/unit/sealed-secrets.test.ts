// Sealed secrets across a key rotation (issue 11 item 9): the named key opens, a wrong or retired
// key never does, and copies sealed before key ids were kept are tried under every key.
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSealedWith, sealSecret } from '../../infra/secrets';

const k1 = { id: 'k1', key: crypto.randomBytes(32) };
const k2 = { id: 'k2', key: crypto.randomBytes(32) };
const sealed = sealSecret(k1.key, 'pickup:bg_1', 'bgc_k1.secret');

describe('openSealedWith opens with the key that sealed, wherever it sits in the set', () => {
  it('opens with the named key after a rotation put another key first', () => {
    assert.equal(openSealedWith([k2, k1], 'k1', 'pickup:bg_1', sealed), 'bgc_k1.secret');
  });

  it('answers null when the named key is not configured, or names the wrong key', () => {
    assert.equal(openSealedWith([k2], 'k1', 'pickup:bg_1', sealed), null);
    assert.equal(openSealedWith([k2, k1], 'k2', 'pickup:bg_1', sealed), null);
  });

  it('tries every key for a copy sealed before key ids were kept', () => {
    assert.equal(openSealedWith([k2, k1], null, 'pickup:bg_1', sealed), 'bgc_k1.secret');
    assert.equal(openSealedWith([k2], null, 'pickup:bg_1', sealed), null);
  });

  it('never opens a copy sealed for another purpose', () => {
    assert.equal(openSealedWith([k1], 'k1', 'pickup:bg_2', sealed), null);
  });
});
