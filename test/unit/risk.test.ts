// Risk signals and Tier 2 (domain/risk.ts): distance, impossible travel, behavioural consistency.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IMPOSSIBLE_TRAVEL_KMH, assessBehaviour, haversineKm, type LoginRecord, type RequestContext } from '../../domain/risk';

const LONDON = { lat: 51.5074, lon: -0.1278 };
const PARIS = { lat: 48.8566, lon: 2.3522 };
const NEW_YORK = { lat: 40.7128, lon: -74.006 };
const SYDNEY = { lat: -33.8688, lon: 151.2093 };

const NOW = new Date('2025-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function login(over: Partial<LoginRecord> = {}): LoginRecord {
  return {
    at: new Date(NOW.getTime() - 2 * DAY_MS),
    ip: '198.51.100.7',
    deviceId: 'dev-known',
    country: 'GB',
    asn: 64500,
    ...LONDON,
    success: true,
    ...over,
  };
}

function ctx(over: Partial<RequestContext> = {}): RequestContext {
  return { ip: '198.51.100.7', deviceId: 'dev-known', geo: { country: 'GB', asn: 64500, ...LONDON }, ...over };
}

describe('haversineKm: great-circle distance', () => {
  it('London to Paris is about 344 km', () => {
    const km = haversineKm(LONDON, PARIS);
    assert.ok(Math.abs(km - 344) < 5, `${km}`);
  });

  it('London to New York is about 5570 km', () => {
    const km = haversineKm(LONDON, NEW_YORK);
    assert.ok(Math.abs(km - 5570) < 30, `${km}`);
  });

  it('is symmetric and zero for the same point', () => {
    assert.equal(haversineKm(LONDON, LONDON), 0);
    assert.ok(Math.abs(haversineKm(LONDON, PARIS) - haversineKm(PARIS, LONDON)) < 1e-9);
  });

  it('antipodal points are half the Earth’s circumference apart (no NaN)', () => {
    const km = haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 });
    assert.ok(Math.abs(km - Math.PI * 6371) < 1, `${km}`);
  });
});

describe('Impossible travel: two logins whose distance/time exceeds 900 km/h', () => {
  it('uses the 900 km/h threshold', () => {
    assert.equal(IMPOSSIBLE_TRAVEL_KMH, 900);
  });

  it('London one hour ago, New York now, is flagged and not consistent', () => {
    const b = assessBehaviour(ctx({ geo: { country: 'US', asn: 64500, ...NEW_YORK } }), [login({ at: new Date(NOW.getTime() - HOUR_MS) })], NOW);
    assert.equal(b.impossibleTravel, true);
    assert.equal(b.consistent, false);
    assert.ok(b.evidence.some((e) => e.includes('900 km/h')));
  });

  it('is flagged even from a known device', () => {
    const b = assessBehaviour(ctx({ geo: { country: 'AU', ...SYDNEY } }), [login({ at: new Date(NOW.getTime() - 3 * HOUR_MS) })], NOW);
    assert.equal(b.knownDevice, true);
    assert.equal(b.impossibleTravel, true);
    assert.equal(b.consistent, false);
  });

  it('London two hours ago, Paris now (about 172 km/h) is plausible', () => {
    const b = assessBehaviour(ctx({ geo: { country: 'FR', asn: 64500, ...PARIS } }), [login({ at: new Date(NOW.getTime() - 2 * HOUR_MS) })], NOW);
    assert.equal(b.impossibleTravel, false);
    assert.equal(b.consistent, true);
  });

  it('London to New York over a day is plausible', () => {
    const b = assessBehaviour(ctx({ geo: { country: 'US', ...NEW_YORK } }), [login({ at: new Date(NOW.getTime() - DAY_MS) })], NOW);
    assert.equal(b.impossibleTravel, false);
  });

  it('compares against the most recent successful login, ignoring failed ones', () => {
    const history = [
      login({ at: new Date(NOW.getTime() - 10 * MIN), ...NEW_YORK, country: 'US', success: false }),
      login({ at: new Date(NOW.getTime() - 5 * HOUR_MS) }),
    ];
    const b = assessBehaviour(ctx({ geo: { country: 'FR', asn: 64500, ...PARIS } }), history, NOW);
    assert.equal(b.impossibleTravel, false);
  });

  it('a login with no coordinates never flags travel', () => {
    const b = assessBehaviour(ctx({ geo: { country: 'GB' } }), [login({ at: new Date(NOW.getTime() - MIN) })], NOW);
    assert.equal(b.impossibleTravel, false);
  });
});

describe('Tier 2: behavioural consistency against the login history', () => {
  it('a known device is consistent', () => {
    const b = assessBehaviour(ctx(), [login()], NOW);
    assert.equal(b.knownDevice, true);
    assert.equal(b.hasHistory, true);
    assert.equal(b.consistent, true);
    assert.ok(b.evidence.includes('device seen before'));
  });

  it('a known device is consistent even from a new country (when travel is plausible)', () => {
    const b = assessBehaviour(ctx({ geo: { country: 'FR', ...PARIS } }), [login()], NOW);
    assert.equal(b.knownCountry, false);
    assert.equal(b.consistent, true);
  });

  it('an unknown device in the usual country and ASN is consistent', () => {
    const b = assessBehaviour(ctx({ deviceId: 'dev-new' }), [login()], NOW);
    assert.equal(b.knownDevice, false);
    assert.equal(b.knownCountry, true);
    assert.equal(b.knownAsn, true);
    assert.equal(b.consistent, true);
  });

  it('an unknown device in the usual country but an unknown ASN is not consistent', () => {
    const b = assessBehaviour(ctx({ deviceId: 'dev-new', geo: { country: 'GB', asn: 65001, ...LONDON } }), [login()], NOW);
    assert.equal(b.consistent, false);
  });

  it('an unknown device and an unknown country is not consistent', () => {
    const b = assessBehaviour(ctx({ deviceId: 'dev-new', geo: { country: 'FR', asn: 64500, ...PARIS } }), [login()], NOW);
    assert.equal(b.knownDevice, false);
    assert.equal(b.knownCountry, false);
    assert.equal(b.consistent, false);
    assert.ok(b.evidence.includes('device not seen before'));
    assert.ok(b.evidence.includes('country not seen before'));
  });

  it('no device id and no geo is not consistent', () => {
    const b = assessBehaviour({ ip: '203.0.113.9' }, [login()], NOW);
    assert.equal(b.knownDevice, false);
    assert.equal(b.knownCountry, false);
    assert.equal(b.consistent, false);
  });

  it('no history is not consistent', () => {
    const b = assessBehaviour(ctx(), [], NOW);
    assert.equal(b.hasHistory, false);
    assert.equal(b.consistent, false);
  });

  it('only failed logins count as no history', () => {
    const b = assessBehaviour(ctx(), [login({ success: false })], NOW);
    assert.equal(b.hasHistory, false);
    assert.equal(b.knownDevice, false);
    assert.equal(b.consistent, false);
  });
});
