// The engine's automatic answers to behaviour events (SPEC section 2, risk table), decided at
// ingestion: a session used from another network than the one it was issued to, implausibly for
// its owner, is revoked; an MFA enrolment right after a login from an unfamiliar context is held;
// a login whose password is known breached or common forces a change. Pure: the route hands in
// what the store read.
import { implausibleSessionUse, riskyEnrolment, type HistoryEvent, type ResolvedGeo, type SessionClient } from './risk-signals';

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
export type ResponseSignal = 'session_hijack' | 'session_client_change' | 'recent_factor_enrolment' | 'compromised_password' | 'directory_refused';

export interface Detection {
  action: ResponseAction;
  signal: ResponseSignal;
  /** Unique per tenant: the same hijacked session, or the same event, answers one response. */
  dedupeKey: string;
  evidence: string[];
}

/** A hijack response's dedupe key: one revocation and one escalation per session at most. */
const hijackKey = (sessionId: string, action: ResponseAction) => (action === 'escalate' ? `session:${sessionId}:escalate` : `session:${sessionId}`);

/** The session a `session_hijack` response's dedupe key names (hijackKey read back). */
export const hijackedSession = (dedupeKey: string) => dedupeKey.replace(/^session:/, '').replace(/:escalate$/, '');

/**
 * A session used from another client than its login, or from another network implausibly for its
 * owner (implausibleSessionUse): revoke (every session of the account) and alert; where the use
 * could still be its owner's (a trip in time to a country never seen, another browser family
 * alone), escalate to a person (alerted, nothing revoked). Each once per session.
 */
export function detectSessionHijack(
  sessionId: string,
  use: SessionClient & { at: Date; ip: string; geo: ResolvedGeo },
  issued: (SessionClient & { ip: string; geo: ResolvedGeo }) | null,
  before: readonly HistoryEvent[],
): Detection | null {
  const verdict = issued ? implausibleSessionUse(use, issued, before) : null;
  if (!verdict) return null;
  // Another browser family alone: escalated once per session, and the session is not a suspect one (it still vouches for the account's networks).
  if (verdict.grounds === 'browser')
    return { action: 'escalate', signal: 'session_client_change', dedupeKey: `session:${sessionId}:client`, evidence: verdict.reasons };
  const action = verdict.severity === 'escalate' ? 'escalate' : 'revoke_sessions';
  return { action, signal: 'session_hijack', dedupeKey: hijackKey(sessionId, action), evidence: verdict.reasons };
}

/** An MFA enrolment right after a login from an unfamiliar context (riskyEnrolment): held for review. */
export function detectRiskyEnrolment(
  eventId: string,
  enrol: { at: Date; ip: string; deviceId?: string | null; sessionId?: string | null; geo: ResolvedGeo },
  before: readonly HistoryEvent[],
): Detection | null {
  const verdict = riskyEnrolment(enrol, before);
  if (!verdict) return null;
  return { action: 'hold_enrolment', signal: 'recent_factor_enrolment', dedupeKey: `event:${eventId}`, evidence: verdict.reasons };
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
