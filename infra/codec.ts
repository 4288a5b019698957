// Payload encryption for everything the engine sends through Temporal. Workflow inputs hold
// personal data (justifications, comments); the server and its
// database only ever see ciphertext. AES-256-GCM, keys with ids so they rotate. Payloads
// without our encoding pass through, so histories recorded before encryption still decode. In the
// worker, a payload that cannot be decoded becomes a stand-in the handlers drop (see standIn).
import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { UNDECODABLE } from '../contracts/attested';
import type { HmacKey } from './config';
import { isPublicMetadata, isPublicSummary } from '../domain/public-summary';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : '');

/** What decode does with a payload it cannot decode: fail (clients, the codec endpoint), or put a stand-in in its place (the worker). */
export type Undecodable = 'throw' | 'stand-in';

/** The encodings the default payload converter reads; anything else it would fail on. */
const READABLE = new Set(['binary/null', 'binary/plain', 'json/plain']);

/**
 * A payload in place of one that cannot be decoded: a value handlers recognise and drop. In the
 * worker a decode failure would fail the workflow task, and the server retries such a task for ever.
 */
export const standIn = (reason: string): Payload => ({ metadata: { encoding: enc('json/plain') }, data: enc(JSON.stringify({ [UNDECODABLE]: reason })) });

export class EncryptionCodec implements PayloadCodec {
  // Private fields (#), not TypeScript's `private`: the SDK logs the worker's options, the codec
  // among them, at DEBUG, and JSON.stringify or util.inspect print only ordinary properties.
  readonly #keys: Map<string, Buffer>;
  readonly #active: HmacKey;

  constructor(
    keys: readonly HmacKey[],
    private readonly undecodable: Undecodable = 'throw',
  ) {
    if (!keys.length) throw new Error('EncryptionCodec needs at least one key');
    this.#active = keys[0];
    this.#keys = new Map(keys.map((k) => [k.id, k.key.subarray(0, 32)]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (isPublic(p)) return p;
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const iv = crypto.randomBytes(12);
      const c = crypto.createCipheriv('aes-256-gcm', this.#active.key.subarray(0, 32), iv);
      const body = Buffer.concat([iv, c.update(plain), c.final(), c.getAuthTag()]);
      return { metadata: { encoding: enc(ENCRYPTED_ENCODING), [KEY_ID]: enc(this.#active.id) }, data: body };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    if (this.undecodable === 'throw') return payloads.map((p) => this.decodeOne(p));
    return payloads.map((p) => {
      let out: Payload;
      try {
        out = this.decodeOne(p);
      } catch (err) {
        return standIn((err as Error).message.startsWith('payload encrypted under unknown key id') ? 'unknown_key_id' : 'not_authentic');
      }
      return readable(out);
    });
  }

  private decodeOne(p: Payload): Payload {
    if (dec(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
    const kid = dec(p.metadata?.[KEY_ID]);
    const key = this.#keys.get(kid);
    if (!key) throw new Error(`payload encrypted under unknown key id '${kid}'`);
    const data = Buffer.from(p.data ?? new Uint8Array());
    if (data.length < 28) throw new Error('payload too short to be ours');
    const d = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
    d.setAuthTag(data.subarray(data.length - 16));
    const plain = Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/**
 * A case's summary or current details, or the metadata query's answer carrying them: built from a
 * grammar that holds no personal data (domain/public-summary.ts), and left readable so the UI
 * shows where a case stands without the codec. Everything else is encrypted.
 */
function isPublic(p: Payload): boolean {
  if (dec(p.metadata?.encoding) !== 'json/plain') return false;
  let v: unknown;
  try {
    v = JSON.parse(dec(p.data));
  } catch {
    return false;
  }
  return typeof v === 'string' ? isPublicSummary(v) : isPublicMetadata(v);
}

/** The payload if the payload converter can read it, else a stand-in. */
function readable(p: Payload): Payload {
  const encoding = dec(p.metadata?.encoding);
  if (!READABLE.has(encoding)) return standIn('unknown_encoding');
  if (encoding !== 'json/plain') return p;
  try {
    JSON.parse(dec(p.data));
    return p;
  } catch {
    return standIn('not_json');
  }
}

export function dataConverterFor(keys: readonly HmacKey[], undecodable: Undecodable = 'throw') {
  return { payloadCodecs: [new EncryptionCodec(keys, undecodable)] };
}

/** Replaces every payload ({ metadata, data }) in a fetched history by its decoded form (tests, chaos, fixtures). */
export async function decodePayloadsInPlace(node: unknown, codec: EncryptionCodec): Promise<void> {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const x of node) await decodePayloadsInPlace(x, codec);
    return;
  }
  const o = node as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === 'object' && 'data' in o) {
    const [d] = await codec.decode([o]);
    o.metadata = d.metadata;
    o.data = d.data;
    return;
  }
  for (const v of Object.values(o)) await decodePayloadsInPlace(v, codec);
}
