// Signing of the engine's calls to a customer's user store (the signed webhook directory): an
// HMAC-SHA256 over method, path, timestamp, idempotency key and the body's SHA-256, so a receiver
// can prove the call came from the engine, unchanged, recently, and tie retries together.
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'x-recovery-signature';
export const KEY_ID_HEADER = 'x-recovery-key-id';
export const TIMESTAMP_HEADER = 'x-recovery-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Requests older, or further in the future, than this are refused (replays; clock skew). */
export const MAX_SKEW_SECONDS = 300;

export interface SignedParts {
  method: string;
  /** The request target as sent on the request line: path and query, percent-encoded as sent. */
  path: string;
  /** Unix seconds. */
  timestamp: number;
  idempotencyKey: string;
  /** The exact body bytes sent ('' for none). */
  body: string | Buffer;
}

/** The string the HMAC covers: one field a line, so no field can run into the next. */
export function canonicalString(p: SignedParts): string {
  const bodyHash = crypto.createHash('sha256').update(p.body).digest('hex');
  return ['v1', p.method.toUpperCase(), p.path, String(p.timestamp), p.idempotencyKey, bodyHash].join('\n');
}

export function signature(secret: string | Buffer, p: SignedParts): string {
  return crypto.createHmac('sha256', secret).update(canonicalString(p), 'utf8').digest('hex');
}

/** The headers that sign one request (lower-case names; HTTP header names are case-insensitive). */
export function signRequest(key: { id: string; secret: string | Buffer }, p: SignedParts): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: `v1=${signature(key.secret, p)}`,
    [KEY_ID_HEADER]: key.id,
    [TIMESTAMP_HEADER]: String(p.timestamp),
    [IDEMPOTENCY_HEADER]: p.idempotencyKey,
  };
}

export type VerifyFailure = 'missing_header' | 'unknown_key' | 'stale_timestamp' | 'bad_signature';
export type VerifyResult = { ok: true; keyId: string; idempotencyKey: string } | { ok: false; reason: VerifyFailure };

export interface VerifyInput {
  method: string;
  path: string;
  body: string | Buffer;
  headers: Record<string, string | string[] | undefined>;
  /** The receiver's secrets by key id (several during a rotation). */
  keys: Readonly<Record<string, string | Buffer>>;
  /** Unix seconds; defaults to the clock. */
  now?: number;
}

const header = (h: VerifyInput['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Checks a signed request; the signature is compared in constant time. */
export function verifyRequest(input: VerifyInput): VerifyResult {
  const sig = header(input.headers, SIGNATURE_HEADER);
  const keyId = header(input.headers, KEY_ID_HEADER);
  const ts = header(input.headers, TIMESTAMP_HEADER);
  const idempotencyKey = header(input.headers, IDEMPOTENCY_HEADER);
  if (!sig || !keyId || !ts || !idempotencyKey) return { ok: false, reason: 'missing_header' };
  const secret = Object.hasOwn(input.keys, keyId) ? input.keys[keyId] : undefined;
  if (secret === undefined) return { ok: false, reason: 'unknown_key' };
  const timestamp = /^\d{1,12}$/.test(ts) ? Number(ts) : NaN;
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isFinite(timestamp) || Math.abs(now - timestamp) > MAX_SKEW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  const m = /^v1=([0-9a-f]{64})$/.exec(sig);
  if (!m) return { ok: false, reason: 'bad_signature' };
  const expected = Buffer.from(signature(secret, { method: input.method, path: input.path, timestamp, idempotencyKey, body: input.body }), 'hex');
  if (!crypto.timingSafeEqual(expected, Buffer.from(m[1], 'hex'))) return { ok: false, reason: 'bad_signature' };
  return { ok: true, keyId, idempotencyKey };
}
