// The risk engine: a request (a reset, as of a time `at`) scored against the account's behaviour
// history and the tenant's reset rates. Pure and explainable: every signal has a weight and its
// evidence; the score is their sum and the tier follows triage's thresholds. The evidence holds
// no IP address or device id (it goes into workflow history and the evidence bundle).
import { HIGH_RISK_AT, MEDIUM_RISK_AT, RISK_WEIGHTS, riskTierOf, type RiskSignal } from './triage';
import type { RiskTier } from './types';
import { haversineKm, IMPOSSIBLE_TRAVEL_KMH, INACTIVE_DAYS, isHostingAsn } from './risk';
import { networkKey, sameNetwork } from './network';

export interface ResolvedGeo {
  country?: string;
  asn?: number;
  lat?: number;
  lon?: number;
}

/** One event of the account's history (logins, session uses, MFA enrolments), geo resolved. */
export interface HistoryEvent {
  type: 'login' | 'session_use' | 'mfa_enroll';
  at: Date;
  ip: string;
  deviceId?: string | null;
  userAgent?: string | null;
  sessionId?: string | null;
  geo: ResolvedGeo;
  /** A login's outcome; session uses and enrolments count as successful presence. */
  success: boolean;
  /** A login event that reported its password on a breached or common list. */
  passwordFlagged?: boolean;
  /** A use of a session the engine revoked or escalated as a possible hijack: it vouches for nothing. */
  sessionRevoked?: boolean;
}

/** Earlier reset requests, all strictly before `at`. */
export interface ResetCounts {
  /** This account, last 24 h. */
  account24h: number;
  /** Distinct accounts reset from this IP in the last hour. */
  ipAccounts1h: number;
  /** Distinct accounts reset from this device in the last 24 h. */
  deviceAccounts24h: number;
  /** The tenant, last hour. */
  tenant1h: number;
  /** The tenant, the 7 days before that hour. */
  tenantBaseline7d: number;
}

export interface RiskRequest {
  at: Date;
  ip: string;
  deviceId?: string;
  userAgent?: string;
  geo: ResolvedGeo;
  /** Newest first or any order; only events strictly before `at` are read. */
  history: readonly HistoryEvent[];
  resets: ResetCounts;
  perAccountPer24h: number;
}

export type RiskResponse = 'challenge' | 'approval_and_wait' | 'refuse';
export interface RiskAssessment {
  score: number;
  tier: RiskTier;
  response: RiskResponse;
  signals: RiskSignal[];
  /** Whether the tenant's reset rate is a storm right now (for the storm's start/end bookkeeping). */
  storm: { active: boolean; lastHour: number; baselinePerHour: number };
  /** Known device and known country: what still passes during a storm. */
  familiar: boolean;
}

/** A device, country or network is familiar once seen this long before: a takeover's own logins do not vouch for it. */
export const FAMILIAR_AFTER_MS = 24 * 3_600_000;
/** Closer than this, a "jump" is geolocation noise (city-level databases err by hundreds of km). */
export const SHORT_HOP_KM = 500;
export const ENROLMENT_AFTER_LOGIN_S = 60;
export const ENROLMENT_LOOKBACK_MS = 7 * 86_400_000;
export const SESSION_LOOKBACK_MS = 86_400_000;
export const FAILED_LOGINS_1H = 5;
export const IP_ACCOUNTS_1H = 3;
export const DEVICE_ACCOUNTS_24H = 3;
/** A storm: the last hour's resets at least this many times the tenant's hourly baseline... */
export const STORM_FACTOR = 6;
/** ...and at least this many (a quiet tenant's baseline is near zero). */
export const STORM_MIN_RESETS = 10;
const BASELINE_HOURS = 7 * 24;

const HOUR_MS = 3_600_000;

/** What part of an account's history (the events `counts` keeps) has shown: each kind of context, and since when. */
interface Presence {
  devices: Set<string>;
  countries: Set<string>;
  asns: Set<number>;
  /** Networks as networkKey names them (ASN, or the address's prefix without one). */
  networks: Set<string>;
  /** Browser families (agentFamily). */
  agents: Set<string>;
  /** The oldest event counted, or null when none was. */
  since: number | null;
}

function presence(history: readonly HistoryEvent[], counts: (e: HistoryEvent) => boolean): Presence {
  const p: Presence = { devices: new Set(), countries: new Set(), asns: new Set(), networks: new Set(), agents: new Set(), since: null };
  for (const e of history) {
    if (!counts(e)) continue;
    if (e.deviceId) p.devices.add(e.deviceId);
    if (e.geo.country) p.countries.add(e.geo.country);
    if (e.geo.asn !== undefined) p.asns.add(e.geo.asn);
    p.networks.add(networkKey({ ip: e.ip, asn: e.geo.asn }));
    const agent = agentFamily(e.userAgent);
    if (agent) p.agents.add(agent);
    p.since = p.since === null ? e.at.getTime() : Math.min(p.since, e.at.getTime());
  }
  return p;
}

/** What the account had used successfully at least FAMILIAR_AFTER_MS before `until` (an assessment's familiar contexts). */
export function familiarity(history: readonly HistoryEvent[], until: Date): Presence {
  const cutoff = until.getTime() - FAMILIAR_AFTER_MS;
  return presence(history, (e) => e.success && e.at.getTime() <= cutoff);
}

interface Ctx {
  at: Date;
  deviceId?: string | null;
  userAgent?: string | null;
  geo: ResolvedGeo;
}

const speedKmh = (a: Ctx, b: Ctx) => {
  const km = haversineKm({ lat: a.geo.lat!, lon: a.geo.lon! }, { lat: b.geo.lat!, lon: b.geo.lon! });
  const hours = Math.max(Math.abs(b.at.getTime() - a.at.getTime()) / HOUR_MS, 1 / 60);
  return { km, kmh: km / hours };
};
const located = (c: Ctx) => c.geo.lat !== undefined && c.geo.lon !== undefined;

/** A jump faster than 900 km/h that a VPN or the database's noise does not explain, or null. */
function travel(req: RiskRequest, before: HistoryEvent[], fam: Presence): { km: number; kmh: number; from?: string } | null {
  const prev = before.find((e) => e.success && located(e));
  if (!prev || !located(req)) return null;
  const { km, kmh } = speedKmh(prev, req);
  if (kmh <= IMPOSSIBLE_TRAVEL_KMH || km < SHORT_HOP_KM) return null;
  // VPN exits: a hosting network on either side, or an exit (country or network) used before.
  if (isHostingAsn(req.geo.asn) || isHostingAsn(prev.geo.asn)) return null;
  if ((req.geo.country && fam.countries.has(req.geo.country)) || (req.geo.asn !== undefined && fam.asns.has(req.geo.asn))) return null;
  // A known device whose own history already jumps like this: a habitual VPN or remote desktop.
  if (req.deviceId && fam.devices.has(req.deviceId) && habitualJumps(before, req.deviceId)) return null;
  return { km, kmh, from: prev.geo.country };
}

function habitualJumps(before: HistoryEvent[], deviceId: string): boolean {
  const mine = before.filter((e) => e.success && e.deviceId === deviceId && located(e));
  for (let i = 0; i + 1 < mine.length; i++) {
    const { km, kmh } = speedKmh(mine[i + 1], mine[i]);
    if (kmh > IMPOSSIBLE_TRAVEL_KMH && km >= SHORT_HOP_KM && mine[i].geo.country !== mine[i + 1].geo.country) return true;
  }
  return false;
}

/** An MFA enrolment held by the rule below, in the last 7 days. */
function suspiciousEnrolment(before: HistoryEvent[], at: Date): { seconds: number } | null {
  for (let i = 0; i < before.length; i++) {
    const enrol = before[i];
    if (at.getTime() - enrol.at.getTime() > ENROLMENT_LOOKBACK_MS) break;
    if (enrol.type !== 'mfa_enroll') continue;
    const risky = riskyEnrolment(enrol, before.slice(i + 1));
    if (risky) return { seconds: risky.seconds };
  }
  return null;
}

/**
 * A new device together with a new country, network or browser family (no history: nothing to
 * compare with). The browser counts only once the account has shown one.
 */
function unfamiliarContext(c: Ctx, fam: Presence): 'country' | 'network' | 'browser' | null {
  if (fam.since === null || (c.deviceId && fam.devices.has(c.deviceId))) return null;
  if (c.geo.country && !fam.countries.has(c.geo.country)) return 'country';
  if (c.geo.asn !== undefined && !fam.asns.has(c.geo.asn)) return 'network';
  const agent = agentFamily(c.userAgent);
  if (agent && fam.agents.size && !fam.agents.has(agent)) return 'browser';
  return null;
}

/** A use of a session, in the last 24 h, that the hijack rule below would revoke. */
function sessionAnomaly(before: HistoryEvent[], at: Date): SessionUseVerdict | null {
  for (let i = 0; i < before.length; i++) {
    const use = before[i];
    if (at.getTime() - use.at.getTime() > SESSION_LOOKBACK_MS) break;
    if (use.type !== 'session_use' || !use.sessionId) continue;
    const earlier = before.slice(i + 1);
    const issued = earlier.find((e) => e.type === 'login' && e.success && e.sessionId === use.sessionId);
    const verdict = issued ? implausibleSessionUse(use, issued, earlier) : null;
    // An escalated use could be its owner's (a trip): a person decides on it, a reset is not held for it.
    if (verdict?.severity === 'revoke') return verdict;
  }
  return null;
}

/**
 * A place this far from all of an account's presence is a new one (another city or region): well
 * above a metro area's geolocation spread, well below SHORT_HOP_KM, since it only escalates.
 */
export const NEW_PLACE_KM = 200;
/** An account this young has not shown all its usual networks yet (a phone's carrier, a second ISP). */
export const YOUNG_ACCOUNT_MS = 7 * 86_400_000;
/** How long after a login, in the same session or on the same device and network, an enrolment still counts as part of it. */
export const ENROLMENT_SAME_SESSION_S = 15 * 60;

/** What the account's successful presence (logins, uses of sessions not revoked) has shown, all of it, whatever its age. */
const present = (e: HistoryEvent) => e.success && !e.sessionRevoked && e.type !== 'mfa_enroll';
const seenIn = (history: readonly HistoryEvent[]): Presence => presence(history, present);

const AGENT_SYSTEMS = ['Android', 'iPhone OS', 'iPad', 'CrOS', 'Windows NT', 'Mac OS X', 'Linux'];
const AGENT_CLIENTS: [string, RegExp][] = [
  ['headlesschrome', /HeadlessChrome/i],
  ['edge', /Edg(?:e|A|iOS)?\//i],
  ['opr', /OPR\//i],
  ['fxios', /FxiOS/i],
  ['crios', /CriOS/i],
  ['firefox', /Firefox/i],
  ['chrome', /Chrome/i],
  ['safari', /Safari/i],
  ['python-requests', /python-requests/i],
  ['curl', /curl/i],
  ['go-http-client', /Go-http-client/i],
  ['okhttp', /okhttp/i],
  ['java', /Java\//i],
];

/**
 * A user agent's family: its operating system and browser (or client library), without versions,
 * so an update is the same family and another browser or system is not. Null when unrecognised.
 */
export function agentFamily(ua: string | null | undefined): string | null {
  if (!ua) return null;
  // The most specific name found anywhere, not the first: an Android phone's agent names Linux
  // before Android, and Edge's and Opera's name Chrome and Safari before themselves.
  const os = AGENT_SYSTEMS.find((x) => ua.includes(x));
  const client = AGENT_CLIENTS.find(([, re]) => re.test(ua))?.[0];
  if (!os && !client) return null;
  return `${os ?? '?'}|${client ?? '?'}`;
}

/** A jump from the last located successful event faster than 900 km/h that no hosting network or geolocation noise explains. */
function impossibleJump(before: readonly HistoryEvent[], c: Ctx): { km: number; kmh: number } | null {
  const prev = before.find((e) => e.success && !e.sessionRevoked && located(e));
  if (!prev || !located(c) || isHostingAsn(c.geo.asn) || isHostingAsn(prev.geo.asn)) return null;
  const { km, kmh } = speedKmh(prev, c);
  return kmh > IMPOSSIBLE_TRAVEL_KMH && km >= SHORT_HOP_KM ? { km, kmh } : null;
}

/** The client a session's login or use reported: its device id, its user agent (either may be missing). */
export interface SessionClient {
  deviceId?: string | null;
  userAgent?: string | null;
}

/**
 * Whether a session's use came from another client than its login: another device id, or another
 * browser family (agentFamily: an update is the same family). Judged only on what both reported,
 * and a user agent no family is recognised in proves nothing. Says which, with a reason naming
 * the families (never the device id or the user agent itself), or null.
 */
export function clientChange(issued: SessionClient, use: SessionClient): { what: 'device' | 'browser'; reason: string } | null {
  if (issued.deviceId && use.deviceId && issued.deviceId !== use.deviceId) {
    return { what: 'device', reason: 'session token presented by another device than the login that issued it' };
  }
  const was = agentFamily(issued.userAgent);
  const now = agentFamily(use.userAgent);
  if (!was || !now || was === now) return null;
  const name = (f: string) => f.replace('|', ' ');
  return {
    what: 'browser',
    reason: `session token presented by another browser or system than the login that issued it (${name(now)}; issued to ${name(was)})`,
  };
}

export interface SessionUseVerdict {
  /** `revoke`: the use cannot be its owner's; `escalate`: it could be (a trip to a country never seen, in time to get there), a person decides. */
  severity: 'revoke' | 'escalate';
  /**
   * `browser`: only another browser family, on a network the account uses (its owner in another
   * mode is possible, and a use there shows no network the account had not shown already): the
   * session stays trusted for the account's presence. Otherwise `network` or `device`.
   */
  grounds: 'network' | 'device' | 'browser';
  reasons: string[];
}

const ESCALATED_NOT_REVOKED = 'escalated to a person, not revoked';

/**
 * Whether a session's use is implausible for its owner. Presented by another device than its
 * login: the token was copied, revoked. Presented by another browser family (clientChange): its
 * owner in another mode (a phone's desktop-site view) or a copied token: escalated at least, a
 * person decides. Used from another network than its login (implausibleNetwork): revoked, or
 * escalated where a trip explains it.
 * `before`: the account's events strictly before the use, newest first.
 */
export function implausibleSessionUse(
  use: SessionClient & { at: Date; ip: string; geo: ResolvedGeo },
  issued: SessionClient & { ip: string; geo: ResolvedGeo },
  before: readonly HistoryEvent[],
): SessionUseVerdict | null {
  // Judged on the client first: a thief on the victim's own mobile carrier looks the same by network.
  const client = clientChange(issued, use);
  if (client?.what === 'device') return { severity: 'revoke', grounds: 'device', reasons: [client.reason] };
  const network = implausibleNetwork(use, issued, before);
  if (client && !network) {
    return {
      severity: 'escalate',
      grounds: 'browser',
      reasons: [client.reason, `on a network the account uses its owner is possible: ${ESCALATED_NOT_REVOKED}`],
    };
  }
  if (!network) return null;
  // A browser family alone never revokes: it adds its reason to the network's verdict.
  const reasons = client ? [client.reason, ...network.reasons] : network.reasons;
  return { severity: network.severity, grounds: 'network', reasons };
}

/** Who a session was issued to: its login's device id, else its browser family; null when it reported neither. */
const clientKey = (c: SessionClient): string | null => (c.deviceId ? `device:${c.deviceId}` : agentFamily(c.userAgent));

/**
 * The networks one client (a device, or a browser family without a device id) used successfully:
 * its logins and the uses of the sessions they issued, or of sessions whose login is not in the
 * history (uses the engine suspected vouch for nothing), and since when it is known. Null when
 * the client cannot be told apart.
 */
function clientNetworks(client: SessionClient, before: readonly HistoryEvent[]): Presence | null {
  const key = clientKey(client);
  if (!key) return null;
  const issuedTo = new Map<string, string | null>();
  for (const e of before) if (e.type === 'login' && e.success && e.sessionId) issuedTo.set(e.sessionId, clientKey(e));
  return presence(before, (e) => {
    if (!present(e)) return false;
    if (e.type === 'login') return clientKey(e) === key;
    // A use of a session whose login is older than the history read could be this client's: it counts.
    const issuer = e.sessionId ? issuedTo.get(e.sessionId) : undefined;
    return issuer === undefined || issuer === key;
  });
}

/**
 * Whether a session used from another network than the login that issued it is implausible for
 * its owner: the network was never part of the account's successful presence, or the jump from
 * its last located activity is impossible. A phone moving from home Wi-Fi to its carrier, a VPN
 * user on the provider's other exit, a traveller on the hotel network they signed in from: all
 * networks seen before, not a hijack. An account younger than a week has not shown its usual
 * networks yet: there a new network in a country it was seen in passes; another country does not.
 * A country never seen, reached in time, is `escalate`: a traveller's phone on the hotel network
 * looks like this until their laptop signs in there. A network seen only from the account's other
 * devices is judged by otherClientsNetwork.
 */
function implausibleNetwork(
  use: { at: Date; ip: string; geo: ResolvedGeo },
  issued: SessionClient & { ip: string; geo: ResolvedGeo },
  before: readonly HistoryEvent[],
): Omit<SessionUseVerdict, 'grounds'> | null {
  if (sameNetwork({ ip: issued.ip, asn: issued.geo.asn }, { ip: use.ip, asn: use.geo.asn }) !== false) return null;
  const seen = seenIn(before);
  const useNetwork = networkKey({ ip: use.ip, asn: use.geo.asn });
  const familiarNetwork = seen.networks.has(useNetwork);
  const jump = impossibleJump(before, use);
  if (familiarNetwork && !jump) return otherClientsNetwork(use, issued, before, useNetwork);
  const young = seen.since === null || use.at.getTime() - seen.since < YOUNG_ACCOUNT_MS;
  const knownCountry = !use.geo.country || seen.countries.has(use.geo.country);
  if (!jump && young && knownCountry) return null;
  const reasons = ['session token used from a different network than the login that issued it'];
  if (!familiarNetwork) reasons.push(`network ${use.geo.asn != null ? `AS${use.geo.asn}` : 'prefix'} never seen for this account`);
  if (!knownCountry) reasons.push(`country ${use.geo.country} never seen for this account`);
  if (jump) reasons.push(`${Math.round(jump.km)} km from the last activity at ${Math.round(jump.kmh)} km/h (over ${IMPOSSIBLE_TRAVEL_KMH})`);
  const severity = !jump && !knownCountry ? 'escalate' : 'revoke';
  if (severity === 'escalate') reasons.push(`the trip was possible in the time since the last activity: ${ESCALATED_NOT_REVOKED}`);
  return { severity, reasons };
}

/**
 * A session moved to a network the account uses, but only from its other devices (the session's
 * own client, known for a week, never used it), in a place the account was never seen (at least
 * NEW_PLACE_KM from all its presence). A thief who took the cookie (and its user agent) on the
 * owner's own carrier in another city, or its owner on a trip tethering the laptop to their phone:
 * a person decides. A phone joining the home Wi-Fi its laptop uses is near home: it passes.
 */
function otherClientsNetwork(
  use: { at: Date; geo: ResolvedGeo },
  issued: SessionClient,
  before: readonly HistoryEvent[],
  useNetwork: string,
): Omit<SessionUseVerdict, 'grounds'> | null {
  const client = clientNetworks(issued, before);
  if (!client || client.since === null || use.at.getTime() - client.since < YOUNG_ACCOUNT_MS || client.networks.has(useNetwork)) return null;
  const km = kmFromPresence(use, before);
  if (km === null || km < NEW_PLACE_KM) return null;
  return {
    severity: 'escalate',
    reasons: [
      'session token used from a different network than the login that issued it',
      `network ${useNetwork.startsWith('AS') ? useNetwork : 'prefix'} seen for this account only from its other devices, never from the one the session was issued to`,
      `${Math.round(km)} km from every place the account was seen`,
      `its owner on another of their networks is possible: ${ESCALATED_NOT_REVOKED}`,
    ],
  };
}

/** How far a located use is from the nearest located successful presence of the account; null when either side has no location. */
function kmFromPresence(use: { geo: ResolvedGeo }, before: readonly HistoryEvent[]): number | null {
  if (use.geo.lat === undefined || use.geo.lon === undefined) return null;
  let nearest: number | null = null;
  for (const e of before) {
    if (!present(e) || e.geo.lat === undefined || e.geo.lon === undefined) continue;
    const km = haversineKm({ lat: use.geo.lat, lon: use.geo.lon }, { lat: e.geo.lat, lon: e.geo.lon });
    if (nearest === null || km < nearest) nearest = km;
  }
  return nearest;
}

export interface EnrolmentVerdict {
  seconds: number;
  reasons: string[];
}

/**
 * An MFA enrolment right after a successful login from an unfamiliar context: within 60 s of it,
 * or within 15 min when in the same session or on the same device and network. Unfamiliar: a
 * device never seen, with a country, a network or a browser family never seen, judged on what the
 * account showed before that login. An account with nothing before is onboarding: not held.
 * `before`: the account's events strictly before the enrolment, newest first.
 */
export function riskyEnrolment(
  enrol: { at: Date; ip: string; deviceId?: string | null; sessionId?: string | null; geo: ResolvedGeo },
  before: readonly HistoryEvent[],
): EnrolmentVerdict | null {
  const at = enrol.at.getTime();
  const i = before.findIndex((e) => {
    if (e.type !== 'login' || !e.success) return false;
    const s = (at - e.at.getTime()) / 1000;
    if (s < 0 || s > ENROLMENT_SAME_SESSION_S) return false;
    if (s <= ENROLMENT_AFTER_LOGIN_S) return true;
    if (enrol.sessionId && e.sessionId === enrol.sessionId) return true;
    return !!enrol.deviceId && e.deviceId === enrol.deviceId && sameNetwork({ ip: e.ip, asn: e.geo.asn }, { ip: enrol.ip, asn: enrol.geo.asn }) !== false;
  });
  if (i < 0) return null;
  const login = before[i];
  const seen = seenIn(before.slice(i + 1));
  if (seen.since === null || (login.deviceId && seen.devices.has(login.deviceId))) return null;
  const reasons: string[] = [];
  if (login.geo.country && !seen.countries.has(login.geo.country)) reasons.push(`country ${login.geo.country} never seen for this account`);
  if (!seen.networks.has(networkKey({ ip: login.ip, asn: login.geo.asn }))) {
    reasons.push(`network ${login.geo.asn != null ? `AS${login.geo.asn}` : 'prefix'} never seen for this account`);
  }
  const agent = agentFamily(login.userAgent);
  if (agent && seen.agents.size && !seen.agents.has(agent)) reasons.push('a browser and system never seen for this account');
  if (!reasons.length) return null;
  const seconds = Math.round((at - login.at.getTime()) / 1000);
  return { seconds, reasons: [`an MFA factor was enrolled ${seconds} s after a login from a device never seen for this account`, ...reasons] };
}

/**
 * A storm is measured against the tenant's own baseline: with no reset in the 7 days before the
 * last hour there is none (a new tenant's first hour is not a surge of anything).
 */
export function tenantStorm(r: ResetCounts): RiskAssessment['storm'] {
  const baselinePerHour = r.tenantBaseline7d / BASELINE_HOURS;
  const lastHour = r.tenant1h + 1;
  const active = r.tenantBaseline7d > 0 && lastHour >= STORM_MIN_RESETS && lastHour >= STORM_FACTOR * Math.max(baselinePerHour, 1);
  return { active, lastHour, baselinePerHour: Math.round(baselinePerHour * 100) / 100 };
}

export const responseOf = (tier: RiskTier): RiskResponse => (tier === 'high' ? 'refuse' : tier === 'medium' ? 'approval_and_wait' : 'challenge');

export function assessRisk(req: RiskRequest): RiskAssessment {
  const before = req.history.filter((e) => e.at < req.at).sort((a, b) => b.at.getTime() - a.at.getTime());
  const fam = familiarity(before, req.at);
  const signals: RiskSignal[] = [];
  const add = (code: RiskSignal['code'], evidence: string) => signals.push({ code, weight: RISK_WEIGHTS[code], evidence });
  const knownDevice = !!req.deviceId && fam.devices.has(req.deviceId);
  const knownCountry = !!req.geo.country && fam.countries.has(req.geo.country);

  const jump = travel(req, before, fam);
  if (jump) {
    const what = `${Math.round(jump.km)} km from the last ${jump.from ?? 'located'} activity at ${Math.round(jump.kmh)} km/h (over ${IMPOSSIBLE_TRAVEL_KMH})`;
    if (knownDevice) add('impossible_travel_known_device', `${what}, from a known device`);
    else add('impossible_travel', what);
  }
  const unfamiliar = unfamiliarContext(req, fam);
  if (unfamiliar === 'country') add('new_device_new_country', `device not seen before, country ${req.geo.country} not seen before`);
  if (unfamiliar === 'network') add('new_device_new_network', `device not seen before, network AS${req.geo.asn} not seen before`);
  if (unfamiliar === 'browser') add('new_device_new_browser', 'device not seen before, with a browser and system never seen for this account');

  const enrol = suspiciousEnrolment(before, req.at);
  if (enrol) add('recent_factor_enrolment', `an MFA factor was enrolled ${enrol.seconds} s after a login from an unfamiliar context`);
  const session = sessionAnomaly(before, req.at);
  if (session) add('session_anomaly', `in the last 24 h, ${session.reasons.join('; ')}`);
  const flagged = before.find((e) => e.type === 'login' && e.passwordFlagged && req.at.getTime() - e.at.getTime() <= 30 * 86_400_000);
  if (flagged) add('breached_password', 'a login in the last 30 days reported a password on a breached or common list');
  const failures = before.filter((e) => e.type === 'login' && !e.success && req.at.getTime() - e.at.getTime() <= HOUR_MS).length;
  if (failures >= FAILED_LOGINS_1H) add('failed_login_burst', `${failures} failed logins in the last hour`);

  const r = req.resets;
  if (r.account24h >= req.perAccountPer24h) add('repeat_reset', `${r.account24h} earlier resets of this account in 24 h`);
  // One source resetting many accounts: the device is the stronger of the two (an office shares
  // an IP); one signal, not both, so a shared context alone never escalates.
  if (r.deviceAccounts24h >= DEVICE_ACCOUNTS_24H) add('repeat_reset_device', `${r.deviceAccounts24h} other accounts reset from this device in 24 h`);
  else if (r.ipAccounts1h >= IP_ACCOUNTS_1H) add('repeat_reset_ip', `${r.ipAccounts1h} other accounts reset from this IP in the last hour`);
  const storm = tenantStorm(r);
  const familiar = knownDevice && knownCountry;
  if (storm.active && !familiar) {
    add(
      'reset_storm',
      `tenant reset storm (${storm.lastHour} in the last hour, baseline ${storm.baselinePerHour}/h) and the context is not a known device in a known country`,
    );
  }

  const last = before.find((e) => e.success);
  if (last && req.at.getTime() - last.at.getTime() > INACTIVE_DAYS * 86_400_000) {
    add('inactive_90d', `no activity for ${Math.floor((req.at.getTime() - last.at.getTime()) / 86_400_000)} days (over ${INACTIVE_DAYS})`);
  }

  const score = signals.reduce((s, x) => s + x.weight, 0);
  const tier = riskTierOf(score);
  return { score, tier, response: responseOf(tier), signals, storm, familiar };
}

export const RISK_THRESHOLDS = { medium: MEDIUM_RISK_AT, high: HIGH_RISK_AT } as const;
