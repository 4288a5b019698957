// Risk signals and Tier 2 (behavioural consistency) from the request context against the
// account's login history. Pure; the activity that calls it turns results into facts without
// personal data.
import type { RiskSignal } from './triage';
import { RISK_WEIGHTS } from './triage';

export interface GeoPoint {
  country?: string;
  lat?: number;
  lon?: number;
  asn?: number;
}

export interface RequestContext {
  ip: string;
  userAgent?: string;
  deviceId?: string;
  geo?: GeoPoint;
}

export interface LoginRecord {
  at: Date;
  ip: string;
  deviceId?: string | null;
  country?: string | null;
  lat?: number | null;
  lon?: number | null;
  asn?: number | null;
  success: boolean;
}

export const IMPOSSIBLE_TRAVEL_KMH = 900;
export const INACTIVE_DAYS = 90;

export function haversineKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface BehaviourAssessment {
  knownDevice: boolean;
  knownCountry: boolean;
  knownAsn: boolean;
  impossibleTravel: boolean;
  hasHistory: boolean;
  /** Tier 2 passes when the context matches the history and nothing contradicts it. */
  consistent: boolean;
  evidence: string[];
}

export function assessBehaviour(ctx: RequestContext, history: LoginRecord[], now: Date): BehaviourAssessment {
  const ok = history.filter((h) => h.success);
  const knownDevice = !!ctx.deviceId && ok.some((h) => h.deviceId === ctx.deviceId);
  const knownCountry = !!ctx.geo?.country && ok.some((h) => h.country === ctx.geo?.country);
  const knownAsn = ctx.geo?.asn !== undefined && ok.some((h) => h.asn === ctx.geo?.asn);
  let impossibleTravel = false;
  const last = [...ok].sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  if (last && last.lat != null && last.lon != null && ctx.geo?.lat !== undefined && ctx.geo?.lon !== undefined) {
    const km = haversineKm({ lat: last.lat, lon: last.lon }, { lat: ctx.geo.lat, lon: ctx.geo.lon });
    const hours = Math.max((now.getTime() - last.at.getTime()) / 3_600_000, 1 / 60);
    impossibleTravel = km / hours > IMPOSSIBLE_TRAVEL_KMH;
  }
  const evidence: string[] = [];
  evidence.push(knownDevice ? 'device seen before' : 'device not seen before');
  evidence.push(knownCountry ? 'usual country' : 'country not seen before');
  if (impossibleTravel) evidence.push(`travel faster than ${IMPOSSIBLE_TRAVEL_KMH} km/h since the last login`);
  const consistent = ok.length > 0 && !impossibleTravel && (knownDevice || (knownCountry && (knownAsn || ctx.geo?.asn === undefined)));
  return { knownDevice, knownCountry, knownAsn, impossibleTravel, hasHistory: ok.length > 0, consistent, evidence };
}

export function riskSignals(
  b: BehaviourAssessment,
  opts: { lastLoginAt: Date | null; now: Date; recentRequestsForAccount: number; perAccountPer24h: number; factorAddedSecondsAfterLogin?: number | null },
): RiskSignal[] {
  const out: RiskSignal[] = [];
  const add = (code: RiskSignal['code'], evidence: string) => out.push({ code, weight: RISK_WEIGHTS[code], evidence });
  if (b.impossibleTravel) add('impossible_travel', `travel faster than ${IMPOSSIBLE_TRAVEL_KMH} km/h since the last login`);
  if (b.hasHistory && !b.knownDevice && !b.knownCountry) add('new_device_new_country', 'new device and new country in the request context');
  if (opts.recentRequestsForAccount >= opts.perAccountPer24h) add('repeat_reset', `${opts.recentRequestsForAccount} requests in 24 h`);
  if (opts.lastLoginAt && opts.now.getTime() - opts.lastLoginAt.getTime() > INACTIVE_DAYS * 86_400_000) {
    add('inactive_90d', `no login for more than ${INACTIVE_DAYS} days`);
  }
  if (opts.factorAddedSecondsAfterLogin != null && opts.factorAddedSecondsAfterLogin <= 60) {
    add('recent_factor_enrolment', 'an MFA factor was added within 60 s of a login');
  }
  return out;
}
