// Geo helpers and Tier 2 (behavioural consistency) from the request context against the
// account's login history. Pure; the activity that calls it turns results into facts without
// personal data.

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

/**
 * Networks of hosting providers and commercial VPN exits: a login from one says little about where
 * the person is, so a country jump through one is not impossible travel. Public ASNs of the large
 * clouds, hosts and VPN carriers; a miss only means the other rules (an exit used before, a known
 * device that habitually jumps) have to explain the jump.
 */
export const HOSTING_ASNS: ReadonlySet<number> = new Set([
  // Clouds: Amazon, Google, Microsoft, Oracle, Alibaba, Tencent, IBM
  16509, 14618, 8987, 15169, 396982, 19527, 8075, 8068, 31898, 45102, 37963, 132203, 36351,
  // Hosts: DigitalOcean, OVH, Hetzner, Linode/Akamai, Vultr, Leaseweb, Scaleway, Contabo, Choopa
  14061, 16276, 24940, 63949, 20473, 60781, 28753, 16265, 12876, 51167, 40021,
  // VPN carriers and exits: M247, Datacamp/CDN77, Cloudflare WARP, Mullvad (31173), Proton, Packethost, Zenlayer, Hostwinds
  9009, 60068, 13335, 31173, 209103, 62240, 54825, 21859, 54290, 212238, 136787, 147049,
]);

export const isHostingAsn = (asn: number | undefined | null): boolean => asn != null && HOSTING_ASNS.has(asn);
