// The four attack families, each with variations so no single rule catches them all: attackers
// from abroad, from residential proxies in the victim's own country (another city), from hosting
// networks there, and sometimes after a delay.
import { HOUR, MIN, type Emitter } from './emit';
import { LAPTOP_UAS, type Persona } from './legit';
import type { Rng } from './prng';
import type { AttackType } from './types';
import { ATTACK_COUNTRIES, NETWORKS, citiesIn, hostingNetworks, ipIn, networksIn, type Place } from './world';

const ATTACKER_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0',
  'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/125.0',
  'python-requests/2.31.0',
];

/** Attack infrastructure abroad: a residential or mobile line, or a server. */
function abroad(rng: Rng): Place {
  const country = rng.weighted(ATTACK_COUNTRIES);
  if (rng.chance(0.4)) return hosting(rng, hostingNetworks());
  const nets = NETWORKS.filter((n) => n.country === country && n.kind !== 'hosting');
  const network = rng.pick(nets);
  return { city: rng.pick(citiesIn(country)), network, ip: ipIn(rng, network) };
}

function hosting(rng: Rng, nets: readonly (typeof NETWORKS)[number][]): Place {
  const network = rng.pick(nets);
  return { city: citiesIn(network.country)[0], network, ip: ipIn(rng, network) };
}

/** A residential proxy in the victim's country: another ISP, in another city when there is one. */
function proxyAtHome(rng: Rng, v: Persona, sameCity = false): Place {
  const others = citiesIn(v.home.country).filter((c) => c !== v.home);
  const city = sameCity || !others.length ? v.home : rng.pick(others);
  const nets = networksIn(v.home.country, 'isp').filter((n) => n.asn !== v.isp.asn);
  const network = rng.pick(nets.length ? nets : networksIn(v.home.country, 'mobile'));
  return { city, network, ip: ipIn(rng, network) };
}

/** A server (VPN exit, rented box) in the victim's country, or any when the country has none. */
function hostingAtHome(rng: Rng, v: Persona): Place {
  const local = hostingNetworks().filter((n) => n.country === v.home.country);
  return hosting(rng, local.length ? local : hostingNetworks());
}

/** Where a targeted attacker comes from: mostly abroad, sometimes posing as the victim's country. */
function targetedOrigin(rng: Rng, v: Persona, mix: { abroad: number; proxy: number; hosting: number; sameCity: number }): { place: Place; how: string } {
  const how = rng.weighted([
    ['abroad', mix.abroad],
    ['proxy_home_country', mix.proxy],
    ['hosting_home_country', mix.hosting],
    ['proxy_same_city', mix.sameCity],
  ] as const);
  const place =
    how === 'abroad'
      ? abroad(rng)
      : how === 'proxy_home_country'
        ? proxyAtHome(rng, v)
        : how === 'hosting_home_country'
          ? hostingAtHome(rng, v)
          : proxyAtHome(rng, v, true);
  return { place, how };
}

const tag = (attack: AttackType, how: string) => ({ attack, story: `${attack}:${how}` });

/**
 * Credential stuffing against one tenant from a botnet (residential proxies and servers), a few
 * hits, then a storm of password resets for many of its accounts.
 */
export function stuffingStorm(em: Emitter, rng: Rng, tenant: Persona[], t0: number) {
  const bots: Place[] = Array.from({ length: rng.int(60, 200) }, () => (rng.chance(0.6) ? abroad(rng) : hosting(rng, hostingNetworks())));
  const targets = tenant.filter(() => rng.chance(rng.float(0.3, 0.6)));
  const stuffingHours = rng.float(1, 3);
  for (const v of targets) {
    const tries = rng.int(1, 2);
    for (let i = 0; i < tries; i++) {
      const bot = rng.pick(bots);
      const hit = rng.chance(0.02);
      em.event(
        rng,
        t0 + rng.float(0, stuffingHours) * HOUR,
        v,
        bot,
        { type: 'login', userAgent: rng.pick(ATTACKER_UAS), outcome: hit ? 'success' : 'failure' },
        tag('stuffing_storm', 'stuffing'),
      );
    }
  }
  const stormStart = t0 + stuffingHours * HOUR + rng.float(0, 60) * MIN;
  const stormMinutes = rng.float(30, 180);
  const victims = targets.filter(() => rng.chance(0.4));
  for (const v of victims) {
    const pose = rng.chance(0.25);
    const place = pose ? proxyAtHome(rng, v) : rng.pick(bots);
    const deviceId = rng.chance(0.7) ? `dev-${rng.hex(10)}` : undefined;
    const ctx = { userAgent: rng.pick(ATTACKER_UAS), ...(deviceId ? { deviceId } : {}) };
    const at = stormStart + rng.float(0, stormMinutes) * MIN;
    em.reset(rng, at, v, 'password_reset', ctx, place, tag('stuffing_storm', pose ? 'storm_proxy_home_country' : 'storm'));
    if (rng.chance(0.15)) em.reset(rng, at + rng.float(1, 20) * MIN, v, 'password_reset', ctx, rng.pick(bots), tag('stuffing_storm', 'storm_retry'));
  }
}

/** A caller posing as the victim asks support for a reset from a new device; sometimes tries again. */
export function vishing(em: Emitter, rng: Rng, v: Persona, t: number) {
  const { place, how } = targetedOrigin(rng, v, { abroad: 70, proxy: 18, hosting: 12, sameCity: 0 });
  const ctx = { deviceId: `dev-${rng.hex(10)}`, userAgent: rng.pick(ATTACKER_UAS.slice(0, 2)) };
  const kind = rng.chance(0.7) ? 'password_reset' : 'mfa_reset';
  if (rng.chance(0.4)) em.event(rng, t - rng.float(2, 30) * MIN, v, place, { type: 'login', ...ctx, outcome: 'failure' }, tag('vishing', 'probe'));
  em.reset(rng, t, v, kind, ctx, place, tag('vishing', how));
  if (rng.chance(0.3)) em.reset(rng, t + rng.float(10, 60) * MIN, v, kind, ctx, place, tag('vishing', `${how}_retry`));
}

/**
 * A stolen session cookie used from elsewhere, minutes to days after the victim signed in. Often
 * from the thief's own browser or script, sometimes (an infostealer that took the user agent
 * too) with the victim's, and a thief's browser may happen to be the victim's kind.
 */
export function sessionHijack(em: Emitter, rng: Rng, v: Persona, home: Place, t: number) {
  const sessionId = `s-${rng.hex(16)}`;
  em.event(rng, t, v, home, { type: 'login', deviceId: v.laptop, userAgent: v.laptopUa, outcome: 'success', sessionId }, { story: 'hijack_victim_login' });
  for (let i = 0; i < rng.int(1, 3); i++)
    em.event(rng, t + rng.float(1, 120) * MIN, v, home, { type: 'session_use', sessionId, userAgent: v.laptopUa }, { story: 'hijack_victim_use' });
  const { place, how } = targetedOrigin(rng, v, { abroad: 60, proxy: 24, hosting: 12, sameCity: 4 });
  const userAgent = rng.chance(0.4) ? v.laptopUa : rng.pick([...ATTACKER_UAS, ...LAPTOP_UAS]);
  const first = t + (rng.chance(0.6) ? rng.float(5, 120) * MIN : rng.float(2, 48) * HOUR);
  em.event(
    rng,
    first,
    v,
    place,
    { type: 'session_use', sessionId, userAgent },
    { attack: 'session_hijack', scored: 'session_use', story: `session_hijack:${how}` },
  );
  for (let i = 0; i < rng.int(0, 3); i++)
    em.event(rng, first + rng.float(1, 30) * MIN, v, place, { type: 'session_use', sessionId, userAgent }, tag('session_hijack', 'more_uses'));
}

/** A takeover login (phished password) and the attacker's own authenticator enrolled right after, or a little later. */
export function mfaTakeover(em: Emitter, rng: Rng, v: Persona, t: number) {
  const { place, how } = targetedOrigin(rng, v, { abroad: 70, proxy: 20, hosting: 10, sameCity: 0 });
  const deviceId = `dev-${rng.hex(10)}`;
  const userAgent = rng.pick(ATTACKER_UAS.slice(0, 2));
  if (rng.chance(0.3))
    em.event(rng, t - rng.float(1, 10) * MIN, v, place, { type: 'login', deviceId, userAgent, outcome: 'failure' }, tag('mfa_takeover', 'probe'));
  em.event(rng, t, v, place, { type: 'login', deviceId, userAgent, outcome: 'success', sessionId: `s-${rng.hex(16)}` }, tag('mfa_takeover', 'login'));
  const delayed = rng.chance(0.2);
  const after = delayed ? rng.float(2, 15) * MIN : rng.float(3, 50) * 1000;
  em.event(
    rng,
    t + after,
    v,
    place,
    { type: 'mfa_enroll', deviceId },
    { attack: 'mfa_takeover', scored: 'mfa_enroll', story: `mfa_takeover:${how}${delayed ? '_delayed' : ''}` },
  );
}
