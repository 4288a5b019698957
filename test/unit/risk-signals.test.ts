// The risk engine (domain/risk-signals.ts): each signal fires where it must and stays quiet for
// legitimate users who travel, change phones and use VPNs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assessRisk,
  FAMILIAR_AFTER_MS,
  STORM_FACTOR,
  STORM_MIN_RESETS,
  tenantStorm,
  type HistoryEvent,
  type ResetCounts,
  type RiskRequest,
} from '../../domain/risk-signals';
import { haversineKm } from '../../domain/risk';
import { RISK_WEIGHTS } from '../../domain/triage';

const AT = new Date('2026-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const LONDON = { country: 'GB', asn: 2856, lat: 51.5074, lon: -0.1278 };
const PARIS = { country: 'FR', asn: 3215, lat: 48.8566, lon: 2.3522 };
const NEW_YORK = { country: 'US', asn: 7922, lat: 40.7128, lon: -74.006 };
const FRANKFURT_M247 = { country: 'DE', asn: 9009, lat: 50.1109, lon: 8.6821 };

const ago = (ms: number) => new Date(AT.getTime() - ms);
function ev(over: Partial<HistoryEvent> = {}): HistoryEvent {
  return { type: 'login', at: ago(2 * HOUR), ip: '81.2.69.160', deviceId: 'laptop', geo: LONDON, success: true, ...over };
}
/** A month of home logins from one laptop, the last two hours ago. */
const home = (): HistoryEvent[] => [30, 20, 10, 5, 2].map((d) => ev({ at: ago(d * DAY) })).concat(ev());
const NO_RESETS: ResetCounts = { account24h: 0, ipAccounts1h: 0, deviceAccounts24h: 0, tenant1h: 0, tenantBaseline7d: 0 };

function req(over: Partial<RiskRequest> = {}): RiskRequest {
  return { at: AT, ip: '81.2.69.160', deviceId: 'laptop', geo: LONDON, history: home(), resets: NO_RESETS, perAccountPer24h: 3, ...over };
}
const codes = (r: RiskRequest) => assessRisk(r).signals.map((s) => s.code);

describe('a legitimate user at home is low risk with no signal', () => {
  it('known device, usual country and network', () => {
    assert.deepEqual(assessRisk(req()), {
      score: 0,
      tier: 'low',
      response: 'challenge',
      signals: [],
      storm: { active: false, lastHour: 1, baselinePerHour: 0 },
      familiar: true,
    });
  });
});

describe('impossible travel: faster than 900 km/h since the last activity', () => {
  it('fires for London two hours ago and New York now from a new device: refused', () => {
    const a = assessRisk(req({ deviceId: 'phone-x', geo: NEW_YORK }));
    assert.deepEqual(a.signals.map((s) => s.code).sort(), ['impossible_travel', 'new_device_new_country']);
    assert.equal(a.tier, 'high');
    assert.equal(a.response, 'refuse');
    assert.match(a.signals.find((s) => s.code === 'impossible_travel')!.evidence, /km\/h/);
  });

  it('from a known device the same jump escalates (approval and wait) rather than refuses', () => {
    const a = assessRisk(req({ geo: NEW_YORK }));
    assert.deepEqual(
      a.signals.map((s) => s.code),
      ['impossible_travel_known_device'],
    );
    assert.equal(a.response, 'approval_and_wait');
  });

  it('does not fire for a plausible 800 km/h flight London -> New York', () => {
    const hours = haversineKm(LONDON, NEW_YORK) / 800;
    assert.deepEqual(codes(req({ geo: NEW_YORK, history: [...home().slice(0, 5), ev({ at: ago(hours * HOUR) })] })), []);
  });

  it('does not fire for a VPN exit on a hosting network, nor for an exit country used before', () => {
    assert.deepEqual(codes(req({ geo: FRANKFURT_M247 })), []);
    const withUsExit = [ev({ at: ago(3 * DAY), geo: NEW_YORK }), ...home()];
    assert.deepEqual(codes(req({ geo: NEW_YORK, history: withUsExit })), []);
  });

  it('does not fire for a known device whose own history jumps countries (a habitual VPN)', () => {
    const jumps = [ev({ at: ago(3 * DAY), geo: { country: 'JP', asn: 64600, lat: 35.68, lon: 139.69 } }), ev({ at: ago(3 * DAY + 30 * MIN) })];
    assert.deepEqual(codes(req({ geo: { country: 'BR', asn: 64700, lat: -23.55, lon: -46.63 }, history: [...home(), ...jumps] })), []);
  });

  it('does not fire for a short hop (geolocation noise), nor against failed logins', () => {
    assert.deepEqual(codes(req({ geo: { ...PARIS, asn: 2856 }, history: [...home(), ev({ at: ago(10 * MIN) })] })), []);
    const failedAbroad = [ev({ at: ago(5 * MIN), geo: NEW_YORK, success: false, deviceId: 'x' }), ...home()];
    assert.deepEqual(codes(req({ history: failedAbroad })), []);
  });
});

describe('new device together with a new country or network', () => {
  it('fires for a new device from a new country (escalated), with a week-old last login', () => {
    const history = home().map((e) => ({ ...e, at: new Date(e.at.getTime() - 7 * DAY) }));
    const a = assessRisk(req({ deviceId: 'phone-x', geo: PARIS, history }));
    assert.deepEqual(
      a.signals.map((s) => [s.code, s.weight]),
      [['new_device_new_country', RISK_WEIGHTS.new_device_new_country]],
    );
    assert.equal(a.tier, 'medium');
  });

  it('a new device on a network never seen, in the usual country, is escalated (a residential proxy looks like this)', () => {
    const a = assessRisk(req({ deviceId: 'new-phone', geo: { ...LONDON, asn: 64999 } }));
    assert.deepEqual(
      a.signals.map((s) => s.code),
      ['new_device_new_network'],
    );
    assert.equal(a.tier, 'medium');
  });

  it('does not fire for a new device in the usual country and network, nor a known device abroad', () => {
    assert.deepEqual(codes(req({ deviceId: 'new-phone' })), []);
    const history = home().map((e) => ({ ...e, at: new Date(e.at.getTime() - DAY) }));
    assert.deepEqual(codes(req({ geo: PARIS, history })), []);
  });

  it("does not count a device or country as familiar until it is a day old: a takeover's own login does not vouch for it", () => {
    const history = [ev({ at: ago(10 * MIN), deviceId: 'phone-x', geo: NEW_YORK }), ...home().map((e) => ({ ...e, at: new Date(e.at.getTime() - 7 * DAY) }))];
    assert.ok(codes(req({ deviceId: 'phone-x', geo: NEW_YORK, history })).includes('new_device_new_country'));
    const aged = history.map((e) => ({ ...e, at: new Date(e.at.getTime() - FAMILIAR_AFTER_MS) }));
    assert.deepEqual(codes(req({ deviceId: 'phone-x', geo: NEW_YORK, history: aged })), []);
  });
});

describe('MFA enrolment within 60 s of a login from an unfamiliar context (15 min on its device and network)', () => {
  const takeover = (gapS: number, geo = NEW_YORK, deviceId = 'attacker', enrolDevice: string | null = null) => [
    ev({ type: 'mfa_enroll', at: ago(HOUR - gapS * 1000), deviceId: enrolDevice, geo }),
    ev({ at: ago(HOUR), deviceId, geo }),
    ...home().map((e) => ({ ...e, at: new Date(e.at.getTime() - 2 * DAY) })),
  ];

  it('fires for an enrolment 20 s after a new-device, new-country login', () => {
    const a = assessRisk(req({ history: takeover(20) }));
    assert.ok(
      a.signals.some((s) => s.code === 'recent_factor_enrolment' && /20 s/.test(s.evidence)),
      JSON.stringify(a.signals),
    );
    assert.notEqual(a.tier, 'low');
  });

  it('does not fire at 90 s from an unknown device, nor seconds after a login from the usual device', () => {
    assert.ok(!codes(req({ history: takeover(90) })).includes('recent_factor_enrolment'));
    assert.ok(codes(req({ history: takeover(90, NEW_YORK, 'attacker', 'attacker') })).includes('recent_factor_enrolment'), 'same device and network: 15 min');
    assert.ok(!codes(req({ history: takeover(16 * 60, NEW_YORK, 'attacker', 'attacker') })).includes('recent_factor_enrolment'));
    assert.ok(!codes(req({ history: takeover(20, LONDON, 'laptop') })).includes('recent_factor_enrolment'));
  });
});

describe('a session used from elsewhere than the login that issued it', () => {
  it('fires for a use from another country within 24 h', () => {
    const history = [
      ev({ type: 'session_use', at: ago(HOUR), sessionId: 's1', geo: NEW_YORK, deviceId: null }),
      ev({ at: ago(3 * HOUR), sessionId: 's1' }),
      ...home(),
    ];
    assert.ok(codes(req({ history })).includes('session_anomaly'));
  });

  it('does not fire for uses from the issuing network', () => {
    const history = [ev({ type: 'session_use', at: ago(HOUR), sessionId: 's1', deviceId: null }), ev({ at: ago(3 * HOUR), sessionId: 's1' }), ...home()];
    assert.deepEqual(codes(req({ history })), []);
  });
});

describe('breached or common password reported by a login, and failed-login bursts', () => {
  it('a login that reported a flagged password raises breached_password; one without the flag does not', () => {
    assert.ok(codes(req({ history: [ev({ passwordFlagged: true }), ...home()] })).includes('breached_password'));
    assert.deepEqual(codes(req({ history: [ev({ passwordFlagged: false }), ...home()] })), []);
  });

  it('five failed logins in the last hour raise failed_login_burst; four do not', () => {
    const fails = (k: number) => Array.from({ length: k }, (_, i) => ev({ at: ago((i + 1) * MIN), success: false, deviceId: 'x', geo: NEW_YORK }));
    assert.ok(codes(req({ history: [...fails(5), ...home()] })).includes('failed_login_burst'));
    assert.deepEqual(codes(req({ history: [...fails(4), ...home()] })), []);
  });
});

describe('repeat resets per account, per IP and per device', () => {
  it('fires at the per-account limit, and below it does not', () => {
    assert.deepEqual(codes(req({ resets: { ...NO_RESETS, account24h: 3 } })), ['repeat_reset']);
    assert.deepEqual(codes(req({ resets: { ...NO_RESETS, account24h: 2 } })), []);
  });

  it('one device resetting three other accounts fires; an IP too; both together count once (the device)', () => {
    assert.deepEqual(codes(req({ resets: { ...NO_RESETS, deviceAccounts24h: 3 } })), ['repeat_reset_device']);
    assert.deepEqual(codes(req({ resets: { ...NO_RESETS, ipAccounts1h: 3 } })), ['repeat_reset_ip']);
    assert.deepEqual(codes(req({ resets: { ...NO_RESETS, ipAccounts1h: 9, deviceAccounts24h: 3 } })), ['repeat_reset_device']);
  });

  it('a shared office IP alone never escalates; two other accounts do not fire at all', () => {
    assert.equal(assessRisk(req({ resets: { ...NO_RESETS, ipAccounts1h: 40 } })).tier, 'low');
    assert.deepEqual(codes(req({ resets: { ...NO_RESETS, ipAccounts1h: 2, deviceAccounts24h: 2 } })), []);
  });
});

describe('reset storm: a tenant at 6x its own baseline', () => {
  const baseline = 7 * 24 * 2; // two resets an hour, for a week
  const storm = { ...NO_RESETS, tenant1h: 6 * 2 * 2, tenantBaseline7d: baseline };

  it('uses 6x and a floor', () => {
    assert.equal(STORM_FACTOR, 6);
    assert.ok(tenantStorm({ ...NO_RESETS, tenant1h: STORM_MIN_RESETS, tenantBaseline7d: 1 }).active);
    assert.ok(!tenantStorm({ ...NO_RESETS, tenant1h: STORM_MIN_RESETS - 2, tenantBaseline7d: 1 }).active);
  });

  it('escalates a reset from an unfamiliar context during the storm', () => {
    const a = assessRisk(req({ deviceId: 'new-phone', resets: storm }));
    assert.ok(a.storm.active);
    assert.ok(a.signals.some((s) => s.code === 'reset_storm'));
    assert.equal(a.response, 'approval_and_wait');
  });

  it('lets a known device in a known country pass during the storm', () => {
    const a = assessRisk(req({ resets: storm }));
    assert.ok(a.storm.active);
    assert.deepEqual(a.signals, []);
  });

  it('is no storm at 5x the baseline, nor for a tenant with no baseline at all', () => {
    assert.ok(!tenantStorm({ ...NO_RESETS, tenant1h: 5 * 2, tenantBaseline7d: baseline }).active);
    assert.ok(!tenantStorm({ ...NO_RESETS, tenant1h: 500, tenantBaseline7d: 0 }).active);
  });
});

describe('dormant 90 days', () => {
  it('fires when the last activity is 91 days old; not at 89 days; not without history', () => {
    const old = (d: number) => [ev({ at: ago(d * DAY) })];
    assert.ok(codes(req({ history: old(91) })).includes('inactive_90d'));
    assert.deepEqual(codes(req({ history: old(89) })), []);
    assert.deepEqual(codes(req({ history: [] })), []);
  });
});

describe('as of `at`: only earlier events count', () => {
  it('an event at or after `at` is ignored', () => {
    const later = [ev({ at: new Date(AT.getTime() + MIN), geo: NEW_YORK, deviceId: 'x' }), ev({ at: AT, success: false }), ...home()];
    assert.deepEqual(codes(req({ history: later })), []);
  });
});
