// The ingestion-time detection rules, as pure functions: what counts as the same network, when an
// enrolment is held, when a password change is forced.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectCompromisedPassword, detectRiskyEnrolment, detectSessionHijack } from '../../domain/risk-response';
import { networkKey, networkPrefix, sameNetwork } from '../../domain/network';
import { agentFamily, type HistoryEvent, type ResolvedGeo } from '../../domain/risk-signals';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 12);
const at = (ms: number) => new Date(T0 + ms);
const LONDON_BT: ResolvedGeo = { country: 'GB', asn: 2856, lat: 51.5, lon: -0.13 };
const LONDON_EE: ResolvedGeo = { country: 'GB', asn: 12576, lat: 51.52, lon: -0.1 };
const MANCHESTER_SKY: ResolvedGeo = { country: 'GB', asn: 5607, lat: 53.48, lon: -2.24 };
/** The phone's carrier, 260 km from where the account was ever seen. */
const MANCHESTER_EE: ResolvedGeo = { country: 'GB', asn: 12576, lat: 53.48, lon: -2.24 };
const LAGOS: ResolvedGeo = { country: 'NG', asn: 29465, lat: 6.52, lon: 3.38 };
const MACOS = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/126.0';

const login = (ms: number, geo: ResolvedGeo, o: Partial<HistoryEvent> = {}): HistoryEvent => ({
  type: 'login',
  at: at(ms),
  ip: `10.${geo.asn! % 250}.0.1`,
  deviceId: 'laptop',
  userAgent: MACOS,
  geo,
  success: true,
  ...o,
});
const use = (ms: number, geo: ResolvedGeo, sessionId: string, o: Partial<HistoryEvent> = {}): HistoryEvent => ({
  type: 'session_use',
  at: at(ms),
  ip: `10.${geo.asn! % 250}.9.9`,
  sessionId,
  geo,
  success: true,
  ...o,
});
/** A month of workday logins from home (BT, London), newest first. */
const month = (): HistoryEvent[] =>
  Array.from({ length: 30 }, (_, d) => login(-(d + 1) * DAY, LONDON_BT))
    .reverse()
    .sort((a, b) => b.at.getTime() - a.at.getTime());
const newestFirst = (h: HistoryEvent[]) => [...h].sort((a, b) => b.at.getTime() - a.at.getTime());

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
    assert.equal(networkKey({ ip: '192.0.2.10', asn: 7 }), 'AS7');
    assert.equal(networkKey({ ip: '192.0.2.10' }), '4:192.0');
  });
});

describe('a session used from another network', () => {
  const issued = login(0, LONDON_BT, { sessionId: 's1' });
  const history = newestFirst([issued, ...month()]);

  it('is not judged when no login reported the session, or on the same network', () => {
    assert.equal(detectSessionHijack('s1', { at: at(60_000), ip: '10.1.2.3', geo: LAGOS }, null, history), null);
    assert.equal(detectSessionHijack('s1', { at: at(60_000), ip: '10.6.7.8', geo: LONDON_BT }, issued, history), null);
  });
  it('is revoked from a network and country the account never used when nobody could have got there in time', () => {
    const d = detectSessionHijack('s1', { at: at(3_600_000), ip: '10.215.0.1', geo: LAGOS }, issued, history);
    assert.equal(d?.action, 'revoke_sessions');
    assert.equal(d?.dedupeKey, 'session:s1');
    assert.ok(d?.evidence.some((x) => /AS29465 never seen/.test(x)));
    assert.ok(d?.evidence.some((x) => /km\/h/.test(x)));
  });
  it('is escalated to a person, not revoked, from a country never seen that a flight could have reached', () => {
    const d = detectSessionHijack('s1', { at: at(DAY), ip: '10.215.0.1', geo: LAGOS }, issued, history);
    assert.equal(d?.action, 'escalate');
    assert.equal(d?.dedupeKey, 'session:s1:escalate');
    assert.ok(d?.evidence.some((x) => /country NG never seen/.test(x)));
  });
  it('is revoked on a new network in the home country once the account is older than a week', () => {
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.57.0.1', geo: MANCHESTER_SKY }, issued, history)?.action, 'revoke_sessions');
  });
  it("passes on a network the session's own device has used before (the laptop on the phone's hotspot, again)", () => {
    const tethered = newestFirst([...history, login(-3 * DAY, LONDON_EE, { deviceId: 'phone' }), login(-5 * DAY, LONDON_EE)]);
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: MANCHESTER_EE }, issued, tethered), null);
    // Through a session the laptop was issued: the use counts for the laptop.
    const viaSession = newestFirst([
      ...history,
      login(-3 * DAY, LONDON_EE, { deviceId: 'phone' }),
      login(-6 * DAY, LONDON_BT, { sessionId: 's0' }),
      use(-6 * DAY + 3_600_000, LONDON_EE, 's0'),
    ]);
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: MANCHESTER_EE }, issued, viaSession), null);
  });
  it("is escalated, not revoked, on a network the account uses only from its other devices in a city the account was never seen in (a thief on the owner's carrier, or the owner tethering on a trip)", () => {
    const phoneOnly = newestFirst([...history, login(-3 * DAY, LONDON_EE, { deviceId: 'phone' }), use(-2 * DAY, LONDON_EE, 'p1')]);
    const withIssuer = newestFirst([...phoneOnly, login(-2 * DAY - 3_600_000, LONDON_BT, { deviceId: 'phone', sessionId: 'p1' })]);
    const d = detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: MANCHESTER_EE }, issued, withIssuer);
    assert.equal(d?.action, 'escalate');
    assert.equal(d?.dedupeKey, 'session:s1:escalate');
    assert.ok(d?.evidence.some((x) => /AS12576 seen for this account only from its other devices/.test(x)));
    assert.ok(
      d?.evidence.some((x) => /^26\d km from every place the account was seen$/.test(x)),
      d?.evidence.join('; '),
    );
    assert.ok(
      d?.evidence.every((x) => !x.includes('laptop') && !x.includes('phone')),
      'no device id in the evidence',
    );
    // Near where the account was seen (the phone joining the home Wi-Fi the laptop uses, or here
    // the laptop on the phone's carrier at home): nothing fires.
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: LONDON_EE }, issued, withIssuer), null);
    // A use of a session whose login is not in the history could be the laptop's: nothing fires.
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: MANCHESTER_EE }, issued, phoneOnly), null);
  });
  it("passes on another device's network while the session's device is younger than a week (its networks are not all shown yet)", () => {
    const newLaptop = newestFirst([
      issued,
      ...month().map((e) => ({ ...e, deviceId: 'old-laptop' })),
      login(-3 * DAY, LONDON_BT),
      login(-3 * DAY, LONDON_EE, { deviceId: 'phone' }),
    ]);
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: MANCHESTER_EE }, issued, newLaptop), null);
    const weekOld = newestFirst([...newLaptop, login(-8 * DAY, LONDON_BT)]);
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: MANCHESTER_EE }, issued, weekOld)?.action, 'escalate');
  });
  it('is revoked on a familiar network when the jump from the last activity is impossible', () => {
    const abroadBefore = newestFirst([...history, login(-10 * DAY, LAGOS, { deviceId: 'laptop' })]);
    assert.equal(detectSessionHijack('s1', { at: at(600_000), ip: '10.215.0.1', geo: LAGOS }, issued, abroadBefore)?.action, 'revoke_sessions');
  });
  it('in an account younger than a week: a new network at home passes, another country does not', () => {
    const young = [issued, login(-2 * DAY, LONDON_BT)];
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.76.1.1', geo: LONDON_EE }, issued, young), null);
    assert.equal(detectSessionHijack('s1', { at: at(3_600_000), ip: '10.215.0.1', geo: LAGOS }, issued, young)?.action, 'revoke_sessions');
  });
  it('uses of a session revoked before vouch for nothing', () => {
    const stolen = newestFirst([...history, use(-DAY, LAGOS, 's0', { sessionRevoked: true })]);
    assert.equal(detectSessionHijack('s1', { at: at(DAY), ip: '10.215.0.1', geo: LAGOS }, issued, stolen)?.action, 'escalate');
    const vouched = newestFirst([...history, use(-DAY, LAGOS, 's0')]);
    assert.equal(detectSessionHijack('s1', { at: at(2 * DAY), ip: '10.215.0.1', geo: LAGOS }, issued, vouched), null);
  });
});

describe('a session presented by another client than its login', () => {
  // The victim's phone signed in on its carrier; the thief replays the token from the same carrier (another address, same ASN).
  const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1';
  const HEADLESS = 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/125.0';
  const issued = login(0, LONDON_EE, { sessionId: 's2', deviceId: 'phone', userAgent: PHONE });
  const history = newestFirst([issued, ...month(), login(-2 * DAY, LONDON_EE, { deviceId: 'phone', userAgent: PHONE })]);
  const onCarrier = { at: at(600_000), ip: '10.76.200.1', geo: LONDON_EE };

  it('is escalated from another browser family on the very network of its login (its owner in another mode is possible)', () => {
    assert.equal(detectSessionHijack('s2', onCarrier, issued, history), null, 'without a client, the carrier network alone vouches for the use');
    const d = detectSessionHijack('s2', { ...onCarrier, userAgent: HEADLESS }, issued, history);
    assert.equal(d?.action, 'escalate');
    assert.equal(d?.signal, 'session_client_change', 'not a hijack suspect: the session still vouches for its networks');
    assert.equal(d?.dedupeKey, 'session:s2:client');
    assert.equal(
      d?.evidence[0],
      'session token presented by another browser or system than the login that issued it (Linux headlesschrome; issued to iPhone OS safari)',
    );
  });
  it('keeps the network verdict where there is one, with the browser reason added: a browser family alone never revokes', () => {
    const trip = { at: at(DAY), ip: '10.215.0.1', geo: LAGOS };
    const d = detectSessionHijack('s2', { ...trip, userAgent: HEADLESS }, issued, history);
    assert.equal(d?.action, 'escalate');
    assert.ok(d?.evidence.some((x) => /another browser or system/.test(x)));
    assert.ok(d?.evidence.some((x) => /country NG never seen/.test(x)));
    const far = detectSessionHijack('s2', { at: at(3_600_000), ip: '10.215.0.1', geo: LAGOS, userAgent: HEADLESS }, issued, history);
    assert.equal(far?.action, 'revoke_sessions', 'an impossible jump is revoked, whatever the browser');
  });
  it('is revoked from another device id, and the evidence never names the device', () => {
    const d = detectSessionHijack('s2', { ...onCarrier, deviceId: 'dev-thief', userAgent: PHONE }, issued, history);
    assert.equal(d?.action, 'revoke_sessions');
    assert.ok(!JSON.stringify(d?.evidence).includes('dev-thief'));
  });
  it('passes for the same device and family after a browser update, and when either side does not report the client', () => {
    const updated = PHONE.replace('17_5', '18_0').replace('604.1', '605.2');
    assert.equal(detectSessionHijack('s2', { ...onCarrier, deviceId: 'phone', userAgent: updated }, issued, history), null);
    const silentLogin = login(0, LONDON_EE, { sessionId: 's2', deviceId: null, userAgent: null });
    assert.equal(detectSessionHijack('s2', { ...onCarrier, deviceId: 'other', userAgent: HEADLESS }, silentLogin, history), null);
    assert.equal(
      detectSessionHijack('s2', { ...onCarrier, userAgent: 'SomeInternalClient/1.0' }, issued, history),
      null,
      'an unrecognised agent proves nothing',
    );
  });
});

describe('an enrolment after a login', () => {
  const odd = login(0, LAGOS, { deviceId: 'phone-x', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0', sessionId: 's9' });
  const enrol = (s: number, o: { deviceId?: string; sessionId?: string; geo?: ResolvedGeo } = {}) => ({
    at: at(s * 1000),
    ip: odd.ip,
    geo: o.geo ?? odd.geo,
    deviceId: o.deviceId,
    sessionId: o.sessionId,
  });
  const history = newestFirst([odd, ...month()]);

  it('is held within 60 s of an unfamiliar login, and not at 61 s from another device', () => {
    const d = detectRiskyEnrolment('e', enrol(60), history);
    assert.equal(d?.action, 'hold_enrolment');
    assert.ok(d?.evidence.some((x) => /country NG never seen/.test(x)));
    assert.equal(detectRiskyEnrolment('e', enrol(61), history), null);
  });
  it('is held up to 15 min after it in the same session, or on the same device and network', () => {
    assert.equal(detectRiskyEnrolment('e', enrol(900, { sessionId: 's9' }), history)?.action, 'hold_enrolment');
    assert.equal(detectRiskyEnrolment('e', enrol(900, { deviceId: 'phone-x' }), history)?.action, 'hold_enrolment');
    assert.equal(detectRiskyEnrolment('e', enrol(901, { sessionId: 's9' }), history), null);
    assert.equal(detectRiskyEnrolment('e', enrol(600, { deviceId: 'phone-x', geo: LONDON_BT }), history), null);
  });
  it('is not held from a known device, or a new one in the usual country, network and browser', () => {
    assert.equal(detectRiskyEnrolment('e', enrol(10), newestFirst([{ ...odd, deviceId: 'laptop' }, ...month()])), null);
    const newPhoneAtHome = { ...odd, geo: LONDON_BT, ip: '10.106.0.1', userAgent: MACOS };
    assert.equal(detectRiskyEnrolment('e', enrol(10), newestFirst([newPhoneAtHome, ...month()])), null);
  });
  it('is held from a new device at home with a browser and system never seen', () => {
    const other = { ...odd, geo: LONDON_BT, ip: '10.106.0.1' };
    const d = detectRiskyEnrolment('e', enrol(10), newestFirst([other, ...month()]));
    assert.equal(d?.action, 'hold_enrolment');
    assert.ok(d?.evidence.some((x) => /browser and system never seen/.test(x)));
  });
  it('is not held after a failed login, or on an account with no earlier presence', () => {
    assert.equal(detectRiskyEnrolment('e', enrol(10), newestFirst([{ ...odd, success: false }, ...month()])), null);
    assert.equal(detectRiskyEnrolment('e', enrol(10), [odd]), null);
  });
});

describe('a browser family', () => {
  it('is the system and the browser without versions', () => {
    assert.equal(agentFamily('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0'), 'Windows NT|chrome');
    assert.equal(agentFamily('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0'), 'Windows NT|chrome');
    assert.equal(agentFamily('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/125.0'), 'Windows NT|edge');
    assert.equal(agentFamily('Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/125.0'), 'Linux|headlesschrome');
    assert.equal(agentFamily('python-requests/2.31.0'), '?|python-requests');
    assert.equal(agentFamily(''), null);
  });
  it('names the most specific system and browser in the string, not the first', () => {
    // Real agents: an Android phone names Linux before Android; Edge and Opera name Chrome and Safari before themselves.
    const android = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
    assert.equal(agentFamily(android), 'Android|chrome');
    assert.notEqual(agentFamily(android), agentFamily('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'));
    const edge = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0';
    assert.equal(agentFamily(edge), 'Windows NT|edge');
    assert.equal(agentFamily(edge.replace(' Edg/126.0.0.0', ' OPR/111.0.0.0')), 'Windows NT|opr');
    assert.equal(
      agentFamily('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'),
      'iPhone OS|safari',
    );
    assert.equal(
      agentFamily('Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1'),
      'iPad|crios',
    );
  });
});

describe('a breached password', () => {
  it('forces a change on a successful login only', () => {
    assert.equal(detectCompromisedPassword('e', { success: true, passwordCompromised: true })?.action, 'force_password_change');
    assert.equal(detectCompromisedPassword('e', { success: false, passwordCompromised: true }), null);
    assert.equal(detectCompromisedPassword('e', { success: true }), null);
  });
});
