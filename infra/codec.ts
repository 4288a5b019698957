// Payload encryption for everything the engine sends through Temporal. Workflow inputs hold
// personal data (justifications, comments); the server and its
// database only ever see ciphertext. AES-256-GCM, keys with ids so they rotate. Payloads
// without our encoding pass through, so histories recorded before encryption still decode.
import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { HmacKey } from './config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : '');

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly active: HmacKey;

  constructor(keys: readonly HmacKey[]) {
    if (!keys.length) throw new Error('EncryptionCodec needs at least one key');
    this.active = keys[0];
    this.keys = new Map(keys.map((k) => [k.id, k.key.subarray(0, 32)]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const iv = crypto.randomBytes(12);
      const c = crypto.createCipheriv('aes-256-gcm', this.active.key.subarray(0, 32), iv);
      const body = Buffer.concat([iv, c.update(plain), c.final(), c.getAuthTag()]);
      return { metadata: { encoding: enc(ENCRYPTED_ENCODING), [KEY_ID]: enc(this.active.id) }, data: body };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (dec(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const kid = dec(p.metadata?.[KEY_ID]);
      const key = this.keys.get(kid);
      if (!key) throw new Error(`payload encrypted under unknown key id '${kid}'`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      const d = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      d.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

export function dataConverterFor(keys: readonly HmacKey[]) {
  return { payloadCodecs: [new EncryptionCodec(keys)] };
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
