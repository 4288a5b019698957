// TOTP as the engine checks it (RFC 6238 through otpauth): the RFC's own test vector, the window
// of one step either side, and the step a code matched (what makes a code work only once).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchingStep, newTotpSecret, otpauthUri, totpCodeAt } from '../../infra/totp';

// RFC 6238 appendix B: the ASCII secret "12345678901234567890", SHA-1; 8-digit codes there, whose
// last six digits are the 6-digit codes.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
];

describe('codes follow RFC 6238', () => {
  it('computes the test vectors of the RFC (their 6-digit form)', () => {
    for (const [seconds, code] of RFC_VECTORS) assert.equal(totpCodeAt(RFC_SECRET, seconds * 1000), code.slice(-6), `T=${seconds}`);
  });

  it('matches the step of the code: now, one step either side, and nothing further', () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    assert.equal(matchingStep(RFC_SECRET, totpCodeAt(RFC_SECRET, now), now), step);
    assert.equal(matchingStep(RFC_SECRET, totpCodeAt(RFC_SECRET, now - 30_000), now), step - 1);
    assert.equal(matchingStep(RFC_SECRET, totpCodeAt(RFC_SECRET, now + 30_000), now), step + 1);
    for (const far of [-90_000, -60_000, 60_000, 90_000]) {
      const code = totpCodeAt(RFC_SECRET, now + far);
      const near = [-30_000, 0, 30_000].map((d) => totpCodeAt(RFC_SECRET, now + d));
      if (!near.includes(code)) assert.equal(matchingStep(RFC_SECRET, code, now), null, `${far / 1000} s away`);
    }
  });

  it('refuses anything but six digits without computing', () => {
    for (const bad of ['', '12345', '1234567', '12345a', ' 123456', '１２３４５６']) assert.equal(matchingStep(RFC_SECRET, bad, 59_000), null, bad);
  });
});

describe('secrets and the enrolment URI', () => {
  it('a new secret is 160 random bits in base32, never the same twice', () => {
    const a = newTotpSecret();
    assert.match(a, /^[A-Z2-7]{32}$/);
    assert.notEqual(a, newTotpSecret());
  });

  it('the otpauth URI names issuer, account and the parameters apps need', () => {
    const uri = new URL(otpauthUri(RFC_SECRET, 'Acme Corp', 'u-1001'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), RFC_SECRET);
    assert.equal(uri.searchParams.get('issuer'), 'Acme Corp');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.ok(decodeURIComponent(uri.pathname).endsWith('Acme Corp:u-1001'));
  });
});
