// The UI shows a case's summary and current details without the codec: the codec leaves exactly
// the strings of the public grammar unencrypted, so nothing personal can pass through it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { caseDetails, caseSummary, isPublicMetadata, isPublicSummary } from '../../domain/public-summary';
import { EncryptionCodec } from '../../infra/codec';

const enc = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => ({ metadata: { encoding: enc('json/plain') }, data: enc(JSON.stringify(v)) });
const codec = new EncryptionCodec([{ id: 'k1', key: Buffer.alloc(32, 7) }]);
const encrypted = async (v: unknown) => new TextDecoder().decode((await codec.encode([json(v)]))[0].metadata!.encoding) === 'binary/encrypted';

describe('the public summary grammar', () => {
  it('accepts what the workflows and the API build', () => {
    assert.ok(isPublicSummary(caseSummary('password_reset', 'rec_8Jd2kLq9ZxW4mN7p')));
    assert.ok(
      isPublicSummary(caseDetails({ kind: 'mfa_reset', state: 'awaiting_approval', waitingFor: '2 approval(s)', deadline: '2026-12-01T03:00:00.000Z' })),
    );
    assert.ok(isPublicSummary(caseDetails({ kind: 'break_glass', state: 'completed', waitingFor: null, deadline: null })));
  });

  it('refuses anything that could carry personal data: addresses, names, free text', () => {
    for (const s of [
      'password_reset dana@acme.example',
      'password_reset of u-1001 in acme (rec_8Jd2kLq9ZxW4mN7p)',
      '**password_reset**: verifying, waiting for dana whitfield',
      '**password_reset**: verifying, waiting for identity verification; call 555-0100',
      'Dana Whitfield',
    ])
      assert.equal(isPublicSummary(s), false, s);
  });

  it('the metadata query answer is public only with public details and handler names', () => {
    const definition = {
      type: 'recoveryWorkflow',
      queryDefinitions: [{ name: 'status', description: 'the status' }],
      signalDefinitions: [],
      updateDefinitions: [],
    };
    assert.ok(isPublicMetadata({ definition, currentDetails: '**password_reset**: completed' }));
    assert.equal(isPublicMetadata({ definition, currentDetails: 'dana@acme.example' }), false);
    assert.equal(isPublicMetadata({ definition, currentDetails: '', extra: 'x' }), false);
  });
});

describe('the codec encrypts everything but the public summary', () => {
  it('leaves a summary and the metadata answer readable; encrypts a look-alike with personal data and every other value', async () => {
    assert.equal(await encrypted(caseSummary('sso_bypass', 'bg_Tq3vN8sLw2XkR5mZ')), false);
    assert.equal(await encrypted({ definition: { type: 'accessWorkflow' }, currentDetails: '**sso_bypass**: active' }), false);
    assert.equal(await encrypted('sso_bypass dana@acme.example'), true);
    assert.equal(await encrypted({ recoveryId: 'rec_8Jd2kLq9ZxW4mN7p' }), true);
    assert.equal(await encrypted({ definition: { type: 'x' }, currentDetails: 'Dana Whitfield' }), true);
  });
});
