// What the generator produces: steps in time order, each an event for POST /v1/events or a reset
// to assess through POST /v1/risk/assess, with the ground truth the evaluation scores against.

export const ATTACK_TYPES = ['stuffing_storm', 'vishing', 'session_hijack', 'mfa_takeover'] as const;
export type AttackType = (typeof ATTACK_TYPES)[number];

/** The decisions the engine makes and the evaluation scores: a reset assessed, an enrolment, a session used from another address. */
export type ActionKind = 'reset' | 'mfa_enroll' | 'session_use';

export interface GeoJson {
  country: string;
  lat: number;
  lon: number;
  asn: number;
}

export interface RequestContext {
  ip: string;
  deviceId?: string;
  userAgent?: string;
  geo: GeoJson;
}

interface EventBase {
  eventId: string;
  tenantId: string;
  accountId: string;
  at: string;
  ip: string;
  geo: GeoJson;
}
export type BehaviourEvent =
  | (EventBase & { type: 'login'; deviceId?: string; userAgent?: string; outcome: 'success' | 'failure'; sessionId?: string })
  | (EventBase & { type: 'session_use'; sessionId: string; userAgent?: string })
  | (EventBase & { type: 'mfa_enroll'; deviceId?: string });

export interface AssessRequest {
  tenantId: string;
  accountId: string;
  kind: 'password_reset' | 'mfa_reset';
  at: string;
  context: RequestContext;
}

/** Ground truth: who acted, and whether this step is one of the scored decisions. */
export interface Truth {
  attack: AttackType | null;
  /** Scored steps count in recall (attacks) or in the false-positive rates (legitimate actions). */
  scored: ActionKind | null;
  /** The attack instance or the legitimate pattern (for the breakdowns). */
  story: string;
}

export type Step = { t: number; truth: Truth } & ({ event: BehaviourEvent } | { assess: AssessRequest });

export interface Scenario {
  seed: number;
  start: number;
  end: number;
  tenants: { id: string; accounts: string[] }[];
  steps: Step[];
}
