// The engine's automatic answers to behaviour events (SPEC section 2, risk table), decided at
// ingestion: a session used from another network than the one it was issued to is revoked; an MFA
// enrolment within 60 s of a login from an unfamiliar context is held; a login whose password is
// known breached or common forces a change. Pure: the route hands in what the store read.
import { assessBehaviour, type LoginRecord } from './risk';

export const RESPONSE_ACTIONS = ['revoke_sessions', 'hold_enrolment', 'force_password_change', 'escalate'] as const;
export type ResponseAction = (typeof RESPONSE_ACTIONS)[number];

/** What an event's answer in `POST /v1/events` says was done, per action. */
export const ACTION_ANSWERS: Record<ResponseAction, string> = {
  revoke_sessions: 'session_revoked',
  hold_enrolment: 'enrolment_held',
  force_password_change: 'password_change_forced',
  escalate: 'escalated',
};

/** The risk table's signal behind each automatic action. */
export type ResponseSignal = 'session_hijack' | 'recent_factor_enrolment' | 'compromised_password' | 'directory_refused';

export interface Detection {
  action: ResponseAction;
  signal: ResponseSignal;
  /** Unique per tenant: the same hijacked session, or the same event, answers one response. */
  dedupeKey: string;
  evidence: string[];
}

/** Where an address sits: its ASN when known, else its /16 (IPv4) or /32 (IPv6) prefix. */
export interface NetworkPoint {
  ip: string;
  asn?: number | null;
}

/** The first two octets of an IPv4 address (IPv4-mapped IPv6 included), or the first two groups of an IPv6 one. */
export function networkPrefix(ip: string): { family: 4 | 6; prefix: string } | null {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/i.exec(ip);
  if (v4) return { family: 4, prefix: `${Number(v4[1])}.${Number(v4[2])}` };
  if (!ip.includes(':')) return null;
  const [head] = ip.toLowerCase().split('::');
  const groups = head ? head.split(':') : [];
  const first = (groups[0] ?? '0').replace(/^0+(?=.)/, '');
  const second = (groups[1] ?? '0').replace(/^0+(?=.)/, '');
  return { family: 6, prefix: `${first}:${second}` };
}

/**
 * Whether two addresses are on the same network, or null when that cannot be judged. The rule:
 * when both ASNs are known, the same ASN is the same network (a phone moving between a carrier's
 * addresses keeps its ASN); otherwise the same /16 (IPv4) or /32 (IPv6) prefix. An IPv4 address
 * against an IPv6 one without both ASNs is not judged: dual-stack devices switch families.
 */
export function sameNetwork(a: NetworkPoint, b: NetworkPoint): boolean | null {
  if (a.asn != null && b.asn != null) return a.asn === b.asn;
  const pa = networkPrefix(a.ip);
  const pb = networkPrefix(b.ip);
  if (!pa || !pb || pa.family !== pb.family) return null;
  return pa.prefix === pb.prefix;
}

/** A session used from another network than its login: revoke (every session of the account) and alert. */
export function detectSessionHijack(sessionId: string, issued: NetworkPoint | null, use: NetworkPoint): Detection | null {
  if (!issued || sameNetwork(issued, use) !== false) return null;
  const how = issued.asn != null && use.asn != null ? `ASN ${issued.asn} at login, ASN ${use.asn} at use` : 'a different network prefix at use than at login';
  return {
    action: 'revoke_sessions',
    signal: 'session_hijack',
    dedupeKey: `session:${sessionId}`,
    evidence: ['session token reused from a different network than the login that issued it', how],
  };
}

export const ENROLMENT_WINDOW_SECONDS = 60;

/**
 * An MFA enrolment within 60 s after a successful login whose context is unfamiliar: a device not
 * seen before and neither its country nor its ASN seen before, judged on the successful logins
 * before that login. An account with no earlier login is onboarding, not a takeover: not held.
 */
export function detectRiskyEnrolment(eventId: string, enrolAt: Date, login: LoginRecord | null, earlier: LoginRecord[]): Detection | null {
  if (!login?.success) return null;
  const seconds = (enrolAt.getTime() - login.at.getTime()) / 1000;
  if (seconds < 0 || seconds > ENROLMENT_WINDOW_SECONDS) return null;
  const ctx = {
    ip: login.ip,
    deviceId: login.deviceId ?? undefined,
    geo: { country: login.country ?? undefined, asn: login.asn ?? undefined },
  };
  const b = assessBehaviour(ctx, earlier, login.at);
  if (!b.hasHistory || b.knownDevice || b.knownCountry || b.knownAsn) return null;
  return {
    action: 'hold_enrolment',
    signal: 'recent_factor_enrolment',
    dedupeKey: `event:${eventId}`,
    evidence: [
      `an MFA factor was added ${Math.round(seconds)} s after a login`,
      'that login came from a device, country and network not seen before for this account',
    ],
  };
}

/** A successful login whose password the product found in a breached or common-password list. */
export function detectCompromisedPassword(eventId: string, login: { success: boolean; passwordCompromised?: boolean }): Detection | null {
  if (!login.success || !login.passwordCompromised) return null;
  return {
    action: 'force_password_change',
    signal: 'compromised_password',
    dedupeKey: `event:${eventId}`,
    evidence: ['the password used at login is in a breached or common-password list'],
  };
}

/** How long an admin may reverse or acknowledge a response (then it stands and its run ends). */
export const RISK_REVIEW_DAYS = 30;

/** The Temporal UI's kind of a response's run (the RecoveryKind search attribute): one per action. */
export const responseKind = (action: ResponseAction) => `risk_${action}`;

/** What the run waits for once the action is applied. */
export const RISK_WAITING = 'an admin to reverse or acknowledge the response';

/** The state a response is recorded in at ingestion: a hold is in force from the answer on. */
export const initialState = (action: ResponseAction) => (action === 'hold_enrolment' ? 'held' : 'pending');

/** The state an admin's reversal leaves, per action. */
export const REVERSED_STATE: Record<ResponseAction, string> = {
  revoke_sessions: 'reversed',
  hold_enrolment: 'released',
  force_password_change: 'reversed',
  escalate: 'dismissed',
};
