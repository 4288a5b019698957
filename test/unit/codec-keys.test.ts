// The codec holds the payload keys; the SDK logs the worker's options (its data converter
// included) at DEBUG, and any log or error that prints the codec must not print the keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import util from 'node:util';
import { EncryptionCodec } from '../../infra/codec';

const key = crypto.randomBytes(32);
const codec = new EncryptionCodec([{ id: 'k1', key }], 'stand-in');
/** The key as it would appear printed: hex, base64, a Buffer's JSON form (its bytes as numbers) or util.inspect's `<Buffer 2c d3 …>`. */
const traces = [
  key.toString('hex'),
  key.toString('base64'),
  JSON.stringify(Array.from(key)).slice(1, -1),
  Array.from(key.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' '),
];

describe('the payload codec never prints its keys', () => {
  it('JSON.stringify of the codec (as the SDK logs worker options) holds no key material', () => {
    const out = JSON.stringify({ dataConverter: { payloadCodecs: [codec] } });
    for (const t of traces) assert.ok(!out.includes(t), `key material in ${out}`);
  });

  it('util.inspect of the codec (as console and error logs print it) holds no key material', () => {
    const out = util.inspect(codec, { depth: 10, showHidden: true });
    for (const t of traces) assert.ok(!out.includes(t), `key material in ${out}`);
  });

  it('still encrypts and decrypts with the key it keeps', async () => {
    const [p] = await codec.encode([{ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('"x"') }]);
    const [back] = await codec.decode([p]);
    assert.equal(new TextDecoder().decode(back.data), '"x"');
  });
});
