// The ingestion-time detection rules, as pure functions: what counts as the same network, when an
// enrolment is held, when a password change is forced.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectCompromisedPassword, detectRiskyEnrolment, detectSessionHijack, networkPrefix, sameNetwork } from '../../domain/risk-response';
import type { LoginRecord } from '../../domain/risk';

describe('the same network', () => {
  it('is the same ASN when both are known, whatever the addresses', () => {
    assert.equal(sameNetwork({ ip: '100.64.1.10', asn: 20057 }, { ip: '172.58.44.2', asn: 20057 }), true);
    assert.equal(sameNetwork({ ip: '203.0.113.1', asn: 2856 }, { ip: '203.0.113.2', asn: 64512 }), false);
  });
  it('is the same /16 (IPv4) or /32 (IPv6) otherwise; an IPv4/IPv6 pair is not judged', () => {
    assert.equal(sameNetwork({ ip: '192.0.2.10' }, { ip: '192.0.77.3', asn: 1 }), true);
    assert.equal(sameNetwork({ ip: '192.0.2.10' }, { ip: '198.18.0.3' }), false);
    assert.equal(sameNetwork({ ip: '2001:db8:1::1' }, { ip: '2001:0db8:ffff::2' }), true);
    assert.equal(sameNetwork({ ip: '2001:db8::1' }, { ip: '2a00:1450::1' }), false);
    assert.equal(sameNetwork({ ip: '192.0.2.10' }, { ip: '2001:db8::1' }), null);
    assert.deepEqual(networkPrefix('::ffff:192.0.2.1'), { family: 4, prefix: '192.0' });
  });
  it('a session with no reported login is not judged', () => {
    assert.equal(detectSessionHijack('s', null, { ip: '198.51.100.1', asn: 1 }), null);
    assert.equal(detectSessionHijack('s', { ip: '203.0.113.1', asn: 2 }, { ip: '198.51.100.1', asn: 1 })?.action, 'revoke_sessions');
  });
});

describe('an enrolment after a login', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s));
  const known: LoginRecord = { at: at(0), ip: '203.0.113.1', deviceId: 'laptop', country: 'GB', asn: 2856, success: true };
  const odd: LoginRecord = { at: at(3000), ip: '45.160.1.5', deviceId: 'phone', country: 'BR', asn: 28573, success: true };

  it('is held within 60 s of an unfamiliar login, and not at 61 s', () => {
    assert.equal(detectRiskyEnrolment('e', at(3060), odd, [known])?.action, 'hold_enrolment');
    assert.equal(detectRiskyEnrolment('e', at(3061), odd, [known]), null);
  });
  it('is not held when the device, the country or the ASN was seen before', () => {
    assert.equal(detectRiskyEnrolment('e', at(3010), { ...odd, deviceId: 'laptop' }, [known]), null);
    assert.equal(detectRiskyEnrolment('e', at(3010), { ...odd, country: 'GB' }, [known]), null);
    assert.equal(detectRiskyEnrolment('e', at(3010), { ...odd, asn: 2856 }, [known]), null);
  });
  it('is not held after a failed login, or on a first login', () => {
    assert.equal(detectRiskyEnrolment('e', at(3010), { ...odd, success: false }, [known]), null);
    assert.equal(detectRiskyEnrolment('e', at(3010), odd, []), null);
  });
});

describe('a breached password', () => {
  it('forces a change on a successful login only', () => {
    assert.equal(detectCompromisedPassword('e', { success: true, passwordCompromised: true })?.action, 'force_password_change');
    assert.equal(detectCompromisedPassword('e', { success: false, passwordCompromised: true }), null);
    assert.equal(detectCompromisedPassword('e', { success: true }), null);
  });
});
