// The audit chain's hashing and the secrets' primitives: canonical JSON, event hashes (unkeyed and keyed), signed heads, tokens, keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { GENESIS_HASH, canonicalJson, eventHash, keyedEventHash } from '../../store/audit';
import { signHead } from '../../infra/audit-heads';
import { constantTimeEqualHex, hmacHex, knowledgeHash, newToken, tokenHash } from '../../infra/secrets';
import type { HmacKey } from '../../infra/config';

const key = (id: string): HmacKey => ({ id, key: crypto.randomBytes(32) });

describe('canonicalJson: key order never changes the text', () => {
  it('sorts top-level keys', () => {
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
    assert.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
  });

  it('sorts keys at every nesting level, including objects inside arrays', () => {
    const x = { z: { y: 1, x: [{ q: 1, p: 2 }, 3] }, a: null };
    const y = { a: null, z: { x: [{ p: 2, q: 1 }, 3], y: 1 } };
    assert.equal(canonicalJson(x), canonicalJson(y));
    assert.equal(canonicalJson(x), '{"a":null,"z":{"x":[{"p":2,"q":1},3],"y":1}}');
  });

  it('keeps array order (arrays are ordered data)', () => {
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });

  it('matches what survives a JSON round trip (as Postgres jsonb stores it)', () => {
    const v = { s: 'é "q" \n', n: 1.5, t: true, f: false, nil: null, arr: [], obj: {}, skip: undefined };
    assert.equal(canonicalJson(v), canonicalJson(JSON.parse(JSON.stringify(v))));
    assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)));
  });

  it('encodes scalars like JSON', () => {
    assert.equal(canonicalJson('a"b'), '"a\\"b"');
    assert.equal(canonicalJson(42), '42');
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson(undefined), 'null');
  });
});

describe('eventHash: any change to an event changes its hash', () => {
  const base = {
    tenantId: 't_1',
    seq: 7,
    at: '2025-06-01T12:00:00.000Z',
    actor: 'agent:alice',
    action: 'recovery.approved',
    target: 'account:42',
    recoveryId: 'rec_1' as string | null,
    details: { approver: 'bob', signals: [{ tier: 2, ok: true }] } as unknown,
    prevHash: GENESIS_HASH,
  };

  it('is a 64-hex SHA-256 and deterministic', () => {
    assert.match(eventHash(base), /^[0-9a-f]{64}$/);
    assert.equal(eventHash(base), eventHash({ ...base }));
  });

  it('ignores key order in details', () => {
    assert.equal(eventHash(base), eventHash({ ...base, details: { signals: [{ ok: true, tier: 2 }], approver: 'bob' } }));
  });

  it('changes when any field changes', () => {
    const h = eventHash(base);
    const variants: Array<[string, typeof base]> = [
      ['tenantId', { ...base, tenantId: 't_2' }],
      ['seq', { ...base, seq: 8 }],
      ['at', { ...base, at: '2025-06-01T12:00:00.001Z' }],
      ['actor', { ...base, actor: 'agent:mallory' }],
      ['action', { ...base, action: 'recovery.denied' }],
      ['target', { ...base, target: 'account:43' }],
      ['recoveryId', { ...base, recoveryId: 'rec_2' }],
      ['recoveryId null', { ...base, recoveryId: null }],
      ['details value', { ...base, details: { approver: 'eve', signals: [{ tier: 2, ok: true }] } }],
      ['nested details', { ...base, details: { approver: 'bob', signals: [{ tier: 2, ok: false }] } }],
      ['details key added', { ...base, details: { approver: 'bob', signals: [{ tier: 2, ok: true }], extra: 1 } }],
      ['prevHash', { ...base, prevHash: 'f'.repeat(64) }],
    ];
    const seen = new Set([h]);
    for (const [name, v] of variants) {
      const hv = eventHash(v);
      assert.notEqual(hv, h, name);
      seen.add(hv);
    }
    assert.equal(seen.size, variants.length + 1);
  });

  it('the genesis hash is 64 zeros', () => {
    assert.equal(GENESIS_HASH, '0'.repeat(64));
  });
});

describe('keyedEventHash: the chain is an HMAC that only the key holder can compute', () => {
  const e = {
    tenantId: 't_1',
    seq: 1,
    at: '2025-06-01T12:00:00.000Z',
    actor: 'system',
    action: 'tenant.created',
    target: 'tenant:t_1',
    recoveryId: null,
    details: { a: 1 },
    prevHash: GENESIS_HASH,
  };
  const k = key('a1');

  it('differs from the unkeyed SHA-256 of the same event', () => {
    assert.notEqual(keyedEventHash(k, e), eventHash(e));
    assert.match(keyedEventHash(k, e), /^[0-9a-f]{64}$/);
  });

  it('depends on the key and on its id', () => {
    assert.equal(keyedEventHash(k, e), keyedEventHash({ ...k }, e));
    assert.notEqual(keyedEventHash(k, e), keyedEventHash(key('a1'), e));
    assert.notEqual(keyedEventHash(k, e), keyedEventHash({ id: 'a2', key: k.key }, e));
  });

  it('changes with any field of the event', () => {
    assert.notEqual(keyedEventHash(k, e), keyedEventHash(k, { ...e, actor: 'mallory' }));
    assert.notEqual(keyedEventHash(k, e), keyedEventHash(k, { ...e, prevHash: 'f'.repeat(64) }));
  });
});

describe('signHead: an exported head is signed with the active key', () => {
  it('names the key and signs tenant, seq, hash and time', () => {
    const keys = [key('a2'), key('a1')];
    const at = new Date('2025-06-01T12:00:00Z');
    const l = signHead(keys, { tenantId: 't_1', seq: 3, hash: 'ab'.repeat(32) }, at);
    assert.equal(l.kid, 'a2');
    assert.match(l.mac, /^[0-9a-f]{64}$/);
    assert.notEqual(signHead(keys, { tenantId: 't_1', seq: 2, hash: 'ab'.repeat(32) }, at).mac, l.mac);
    assert.notEqual(signHead([key('a2')], { tenantId: 't_1', seq: 3, hash: 'ab'.repeat(32) }, at).mac, l.mac);
  });
});

describe('newToken: 256-bit CSPRNG tokens with a key-id prefix', () => {
  const keys = [key('k2'), key('k1')];

  it('is `<kid>.<base64url>` with the first (active) key id', () => {
    const t = newToken(keys);
    assert.equal(t.keyId, 'k2');
    assert.ok(t.value.startsWith('k2.'));
    assert.match(t.value, /^k2\.[A-Za-z0-9_-]+$/);
  });

  it('carries at least 256 bits of randomness', () => {
    const t = newToken(keys);
    const secret = Buffer.from(t.value.slice('k2.'.length), 'base64url');
    assert.ok(secret.length * 8 >= 256, `${secret.length * 8} bits`);
  });

  it('never repeats', () => {
    const values = new Set(Array.from({ length: 1000 }, () => newToken(keys).value));
    assert.equal(values.size, 1000);
  });

  it('stores an HMAC-SHA256 of the token under the active key, never the token', () => {
    const t = newToken(keys);
    assert.match(t.hash, /^[0-9a-f]{64}$/);
    assert.equal(t.hash, hmacHex(keys[0].key, t.value));
    assert.ok(!t.hash.includes(t.value.split('.')[1]));
  });
});

describe('tokenHash: presented tokens hash only under a configured key id', () => {
  const k1 = key('k1');
  const k2 = key('k2');

  it('round-trips a token made by newToken', () => {
    const t = newToken([k1]);
    assert.deepEqual(tokenHash([k1], t.value), { keyId: 'k1', hash: t.hash });
  });

  it('still verifies a token made under a rotated-out key that is still configured', () => {
    const t = newToken([k1]);
    assert.deepEqual(tokenHash([k2, k1], t.value), { keyId: 'k1', hash: t.hash });
  });

  it('returns null for a key id that is not configured', () => {
    const t = newToken([k1]);
    assert.equal(tokenHash([k2], t.value), null);
  });

  it('a same-named but different key gives a different hash', () => {
    const t = newToken([k1]);
    const other = { id: 'k1', key: crypto.randomBytes(32) };
    assert.notEqual(tokenHash([other], t.value)?.hash, t.hash);
  });

  it('rejects malformed input', () => {
    const t = newToken([k1]);
    const body = t.value.slice(3);
    const bad = [
      '',
      'k1',
      'k1.',
      body,
      `.${body}`,
      `k1.${body}x`,
      `k1.${body.slice(1)}`,
      `k1.${body}=`,
      `k1..${body}`,
      `k1.${body.slice(0, 42)}+`,
      `k1.${body.slice(0, 42)}/`,
      ` ${t.value}`,
      `${t.value} `,
      `${t.value}\n`,
      `k1.${body}.k1`,
      `${'k'.repeat(33)}.${body}`,
    ];
    for (const b of bad) assert.equal(tokenHash([k1], b), null, JSON.stringify(b));
  });
});

describe('constantTimeEqualHex: equal hashes only', () => {
  const a = crypto.randomBytes(32).toString('hex');

  it('is true for the same hex string', () => {
    assert.equal(constantTimeEqualHex(a, a), true);
    assert.equal(constantTimeEqualHex(a, `${a}`.slice(0)), true);
  });

  it('is false when one byte differs', () => {
    const b = (a[0] === '0' ? '1' : '0') + a.slice(1);
    assert.equal(constantTimeEqualHex(a, b), false);
  });

  it('is false for different lengths', () => {
    assert.equal(constantTimeEqualHex(a, a.slice(0, 62)), false);
    assert.equal(constantTimeEqualHex(a, `${a}00`), false);
  });

  it('is false for empty strings', () => {
    assert.equal(constantTimeEqualHex('', ''), false);
    assert.equal(constantTimeEqualHex(a, ''), false);
  });

  it('is false for different strings that are not well-formed hex', () => {
    // Buffer.from(s, 'hex') silently drops a trailing odd nibble and stops at the first non-hex
    // character, so these pairs decode to the same bytes although the strings differ.
    assert.equal(constantTimeEqualHex('abc', 'abd'), false);
    assert.equal(constantTimeEqualHex(`${a}0`, `${a}f`), false);
    assert.equal(constantTimeEqualHex(`${a}zz`, a), false);
    assert.equal(constantTimeEqualHex('zz', 'yy'), false);
  });
});

describe('knowledgeHash: normalised answers bound to tenant, account and factor', () => {
  const k = crypto.randomBytes(32);

  it('ignores case, surrounding whitespace and repeated inner whitespace', () => {
    const h = knowledgeHash(k, 't1', 'a1', 'card_last4', 'Visa 4242');
    for (const v of ['visa 4242', 'VISA 4242', '  Visa 4242  ', 'Visa    4242', 'visa\t4242', '\nvisa 4242\n']) {
      assert.equal(knowledgeHash(k, 't1', 'a1', 'card_last4', v), h, JSON.stringify(v));
    }
  });

  it('normalises Unicode compatibility forms (NFKC)', () => {
    assert.equal(knowledgeHash(k, 't1', 'a1', 'f', '４２４２'), knowledgeHash(k, 't1', 'a1', 'f', '4242'));
  });

  it('different answers give different hashes', () => {
    assert.notEqual(knowledgeHash(k, 't1', 'a1', 'f', '4242'), knowledgeHash(k, 't1', 'a1', 'f', '4243'));
    assert.notEqual(knowledgeHash(k, 't1', 'a1', 'f', 'visa 4242'), knowledgeHash(k, 't1', 'a1', 'f', 'visa4242'));
  });

  it('binds the hash to tenant, account and factor', () => {
    const h = knowledgeHash(k, 't1', 'a1', 'f1', '4242');
    assert.notEqual(knowledgeHash(k, 't2', 'a1', 'f1', '4242'), h);
    assert.notEqual(knowledgeHash(k, 't1', 'a2', 'f1', '4242'), h);
    assert.notEqual(knowledgeHash(k, 't1', 'a1', 'f2', '4242'), h);
  });

  it('field boundaries cannot be shifted to forge another binding', () => {
    assert.notEqual(knowledgeHash(k, 't1', 'a1', 'f', '4242'), knowledgeHash(k, 't1a', '1', 'f', '4242'));
    assert.notEqual(knowledgeHash(k, 't', 'a', 'f1', '4242'), knowledgeHash(k, 't', 'a', 'f', '14242'));
  });

  it('is keyed: another server key gives another hash', () => {
    assert.notEqual(knowledgeHash(k, 't1', 'a1', 'f', '4242'), knowledgeHash(crypto.randomBytes(32), 't1', 'a1', 'f', '4242'));
  });

  it('is a 64-hex HMAC that does not contain the answer', () => {
    const h = knowledgeHash(k, 't1', 'a1', 'f', '4242');
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(constantTimeEqualHex(h, knowledgeHash(k, 't1', 'a1', 'f', ' 4242 ')), true);
  });
});
