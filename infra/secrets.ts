// Token, API-key and knowledge-factor hashing. Plain values exist only in memory of the process
// that creates or receives them; the database holds HMACs (tokens, knowledge) or SHA-256
// (API keys, which are 256-bit random and so need no slow hash); passwords get argon2id.
import crypto from 'node:crypto';
import type { HmacKey } from './config';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

const TOKEN_BYTES = 32; // 256 bits (invariant 2)

export interface NewToken {
  /** The secret: `<kid>.<base64url>`. Leaves the process only inside an email. */
  value: string;
  keyId: string;
  hash: string;
}

export function newToken(keys: readonly HmacKey[]): NewToken {
  const active = keys[0];
  const value = `${active.id}.${crypto.randomBytes(TOKEN_BYTES).toString('base64url')}`;
  return { value, keyId: active.id, hash: hmacHex(active.key, value) };
}

/** The HMAC of a presented token under the key its prefix names, or null if it cannot be ours. */
export function tokenHash(keys: readonly HmacKey[], presented: string): { keyId: string; hash: string } | null {
  const m = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/.exec(presented);
  const key = m && keys.find((k) => k.id === m[1]);
  if (!key) return null;
  return { keyId: key.id, hash: hmacHex(key.key, presented) };
}

export function hmacHex(key: Buffer, value: string): string {
  return crypto.createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

const HEX = /^(?:[0-9a-f]{2})+$/i;

export function constantTimeEqualHex(a: string, b: string): boolean {
  // Buffer.from(..., 'hex') silently drops bad characters: only well-formed hex may compare equal.
  if (a.length !== b.length || !HEX.test(a) || !HEX.test(b)) return false;
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && crypto.timingSafeEqual(x, y);
}

export function newApiKey(): string {
  return `rk_${crypto.randomBytes(32).toString('base64url')}`;
}

export function apiKeyHash(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Knowledge answers are normalised (case, spacing) and bound to tenant, account and factor. */
export function knowledgeHash(key: Buffer, tenantId: string, accountId: string, factor: string, answer: string): string {
  const normalised = answer.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');
  return hmacHex(key, `${tenantId}\u0000${accountId}\u0000${factor}\u0000${normalised}`);
}

/**
 * The keys that MAC attestations, one per token key and under its id (so they rotate with it):
 * HKDF of the token key with a label of their own, so a MAC of one use never verifies for another.
 */
export function attestationKeys(tokenKeys: readonly HmacKey[]): HmacKey[] {
  return tokenKeys.map((k) => ({ id: k.id, key: Buffer.from(crypto.hkdfSync('sha256', k.key, Buffer.alloc(0), 'recovery-engine:attestation', 32)) }));
}

/** An opaque id of 128 random bits. */
export function newOpaqueId(prefix: string): string {
  return `${prefix}_${crypto.randomBytes(16).toString('base64url')}`;
}

export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomBytes(12).toString('base64url')}`;
}

/** AES-256-GCM under a key derived for this one use, so factor secrets can be read back to verify codes. */
export function sealSecret(masterKey: Buffer, purpose: string, plaintext: string): string {
  const key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), `recovery-engine:${purpose}`, 32));
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return `v1.${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
}

export function openSecret(masterKey: Buffer, purpose: string, sealed: string): string {
  const [v, iv, ct, tag] = sealed.split('.');
  if (v !== 'v1' || !iv || !ct || !tag) throw new Error('not a sealed secret');
  const key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), `recovery-engine:${purpose}`, 32));
  const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
}

/**
 * Opens a value sealed under one of a key set: the key named `keyId`, or, for a value sealed
 * before key ids were recorded, each key in turn (GCM's tag refuses a wrong key). Null when no
 * configured key opens it (its key was retired too early).
 */
export function openSealedWith(keys: readonly HmacKey[], keyId: string | null, purpose: string, sealed: string): string | null {
  const candidates = keyId === null ? keys : keys.filter((k) => k.id === keyId);
  for (const k of candidates) {
    try {
      return openSecret(k.key, purpose, sealed);
    } catch {
      // Not this key: try the next one.
    }
  }
  return null;
}

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1).
const ARGON2 = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Password hashing for the built-in directory: argon2id. Slow on purpose: never inside a transaction. */
export function hashPassword(password: string): Promise<string> {
  return argon2Hash(password, ARGON2);
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return argon2Verify(hash, password);
}

let dummy: Promise<string> | undefined;

/** A hash of a random password with the same parameters, made once per process (see below). */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(crypto.randomBytes(32).toString('base64url'));
  return dummy;
}

/**
 * A sign-in's password check that costs one argon2id verify whether or not there is a hash to
 * check: without one (no such account, an SSO-managed one) it verifies against the dummy hash and
 * answers false, so the time taken does not tell which accounts have a password.
 */
export async function verifyPasswordOrDummy(hash: string | null | undefined, password: string): Promise<boolean> {
  const ok = await verifyPassword(hash ?? (await dummyPasswordHash()), password);
  return ok && !!hash;
}
