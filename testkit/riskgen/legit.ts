// Weeks of legitimate behaviour per account: workday logins from home, phones hopping between home
// Wi-Fi and the mobile network, flights at airliner speed with airport time either side, VPN users
// whose exit changes country, new phones enrolled seconds after their first login, and the odd
// forgotten password or lost phone (reset requests the engine must not refuse).
import { haversineKm } from '../../domain/risk';
import { DAY, HOUR, MIN, type Emitter, type Who } from './emit';
import type { Rng } from './prng';
import { CITIES, HOME_COUNTRIES, citiesIn, hostingNetworks, ipIn, networksIn, type City, type Network, type Place } from './world';

export interface Persona extends Who {
  home: City;
  isp: Network;
  mobile: Network;
  laptop: string;
  phone: string;
  laptopUa: string;
  phoneUa: string;
  style: 'home' | 'traveller' | 'vpn';
  /** A VPN provider's exits (one ASN, several countries). */
  vpn: Network[];
}

export const LAPTOP_UAS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/126.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/125.0',
  'Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0',
];
const PHONE_UAS = ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0'];

/** What a phone's browser sends in "request desktop site" mode: another system and browser family, from its owner. */
const DESKTOP_SITE_UA: Record<string, string> = {
  [PHONE_UAS[0]]: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15',
  [PHONE_UAS[1]]: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0',
};
/** How often a phone's request in a session is made in desktop-site mode. */
const DESKTOP_SITE_SHARE = 0.003;

/** Airliner cruise speed and the time airports add (check-in, security, taxi, immigration). */
export const FLIGHT_KMH = 800;

export function makePersona(rng: Rng, who: Who): Persona {
  const country = rng.weighted(HOME_COUNTRIES);
  const isps = networksIn(country, 'isp');
  const mobiles = networksIn(country, 'mobile');
  const providers = [...new Set(hostingNetworks().map((n) => n.asn))];
  const vpnAsn = rng.pick(providers);
  return {
    ...who,
    home: rng.pick(citiesIn(country)),
    isp: rng.pick(isps.length ? isps : mobiles),
    mobile: rng.pick(mobiles.length ? mobiles : isps),
    laptop: `lt-${rng.hex(10)}`,
    phone: `ph-${rng.hex(10)}`,
    laptopUa: rng.pick(LAPTOP_UAS),
    phoneUa: rng.pick(PHONE_UAS),
    style: rng.weighted([
      ['home', 75],
      ['traveller', 15],
      ['vpn', 10],
    ] as const),
    vpn: hostingNetworks().filter((n) => n.asn === vpnAsn),
  };
}

interface Stay {
  from: number;
  to: number;
  place: Place;
}

/** Where the laptop is, over time: home (its address changes now and then), trips, or VPN exits. */
class Whereabouts {
  private homeIps: string[] = [];
  /** Intervals spent in the air or in airports: nothing happens online. */
  readonly gaps: [number, number][] = [];
  private stays: Stay[] = [];
  private exits = new Map<number, { a: Place; b: Place; switchAt: number }>();

  constructor(
    private readonly rng: Rng,
    readonly p: Persona,
    private readonly start: number,
    private readonly end: number,
  ) {
    for (let t = start; t < end; t += 14 * DAY) this.homeIps.push(ipIn(rng, p.isp));
    if (p.style === 'traveller') this.planTrips();
  }

  private planTrips() {
    const trips = this.rng.int(1, 3);
    let t = this.start + this.rng.float(2, 6) * DAY;
    for (let i = 0; i < trips && t < this.end; i++) {
      const dest = this.rng.pick(CITIES.filter((c) => c !== this.p.home));
      const hotelNets = networksIn(dest.country, 'isp');
      const hotel: Place = { city: dest, network: this.rng.pick(hotelNets.length ? hotelNets : networksIn(dest.country, 'mobile')), ip: '' };
      hotel.ip = ipIn(this.rng, hotel.network);
      const hours = haversineKm(this.p.home, dest) / FLIGHT_KMH + this.rng.float(2.5, 4);
      const depart = t + this.rng.float(6, 18) * HOUR;
      const arrive = depart + hours * HOUR;
      const leave = arrive + this.rng.float(2, 7) * DAY;
      const back = leave + hours * HOUR;
      this.gaps.push([depart, arrive], [leave, back]);
      this.stays.push({ from: arrive, to: leave, place: hotel });
      t = back + this.rng.float(5, 10) * DAY;
    }
  }

  inTransit(t: number): boolean {
    return this.gaps.some(([a, b]) => t >= a && t < b);
  }

  away(t: number): Stay | undefined {
    return this.stays.find((s) => t >= s.from && t < s.to);
  }

  home(t: number): Place {
    return { city: this.p.home, network: this.p.isp, ip: this.homeIps[Math.floor((t - this.start) / (14 * DAY))] ?? this.homeIps[0] };
  }

  laptop(t: number): Place {
    const stay = this.away(t);
    if (stay) return stay.place;
    if (this.p.style !== 'vpn') return this.home(t);
    // A VPN user picks an exit each day and sometimes switches country in the middle of it.
    const day = Math.floor((t - this.start) / DAY);
    let e = this.exits.get(day);
    if (!e) {
      const pickExit = (): Place => {
        const n = this.rng.pick(this.p.vpn);
        return { city: citiesIn(n.country)[0], network: n, ip: ipIn(this.rng, n) };
      };
      const a = pickExit();
      e = { a, b: this.rng.chance(0.3) ? pickExit() : a, switchAt: this.start + day * DAY + this.rng.float(10, 20) * HOUR };
      this.exits.set(day, e);
    }
    return t < e.switchAt ? e.a : e.b;
  }

  /** The phone: home Wi-Fi or the mobile network at home; abroad, hotel Wi-Fi or roaming (home carrier). */
  phone(t: number): Place {
    const stay = this.away(t);
    if (stay) return this.rng.chance(0.5) ? stay.place : { city: this.p.home, network: this.p.mobile, ip: ipIn(this.rng, this.p.mobile) };
    return this.rng.chance(0.5) ? this.home(t) : { city: this.p.home, network: this.p.mobile, ip: ipIn(this.rng, this.p.mobile) };
  }
}

/**
 * A login with a new session, then uses of it, each with the client that made it (now and then a
 * phone's desktop-site mode: another browser family, its owner all the same). Uses from another
 * address or another client than the login's are scored.
 */
function session(em: Emitter, rng: Rng, w: Whereabouts, t: number, device: 'laptop' | 'phone', uses: number, spanHours: number, story: string) {
  const p = w.p;
  if (w.inTransit(t)) return;
  const place = device === 'laptop' ? w.laptop(t) : w.phone(t);
  const deviceId = device === 'laptop' ? p.laptop : p.phone;
  const userAgent = device === 'laptop' ? p.laptopUa : p.phoneUa;
  if (rng.chance(0.04)) em.event(rng, t - rng.float(10, 40) * 1000, p, place, { type: 'login', deviceId, userAgent, outcome: 'failure' }, { story: 'typo' });
  const sessionId = `s-${rng.hex(16)}`;
  em.event(rng, t, p, place, { type: 'login', deviceId, userAgent, outcome: 'success', sessionId }, { story });
  for (let i = 0; i < uses; i++) {
    const u = t + rng.float(0.05, spanHours) * HOUR;
    if (w.inTransit(u)) continue;
    const at = device === 'laptop' ? w.laptop(u) : w.phone(u);
    const desktopSite = device === 'phone' && rng.chance(DESKTOP_SITE_SHARE);
    em.event(
      rng,
      u,
      p,
      at,
      { type: 'session_use', sessionId, userAgent: desktopSite ? DESKTOP_SITE_UA[userAgent] : userAgent },
      { scored: at.ip !== place.ip || desktopSite ? 'session_use' : undefined, story: desktopSite ? `${story}_desktop_site_use` : `${story}_use` },
    );
  }
}

/** One account's weeks, from `start` to the emitter's end; returns where its laptop is when (null: in the air). */
export function legitimateBehaviour(em: Emitter, rng: Rng, p: Persona, start: number): (t: number) => Place | null {
  const w = new Whereabouts(rng, p, start, em.end);
  const tz = Math.round(p.home.lon / 15) * HOUR;
  const days = Math.floor((em.end - start) / DAY);
  const local = (day: number, hour: number) => start + day * DAY + hour * HOUR - tz;
  // Special days are drawn first and happen inside the day loop, so a new phone or laptop is the
  // one used from then on.
  const phoneDay = rng.chance(0.15) ? rng.int(5, days - 1) : -1;
  const factorDay = rng.chance(0.08) ? rng.int(3, days - 1) : -1;
  const forgotDay = rng.chance(0.08) ? rng.int(3, days - 1) : -1;
  const lostDay = rng.chance(0.025) ? rng.int(3, days - 2) : -1;
  for (let d = 0; d < days; d++) {
    if (d === phoneDay) newPhone(em, rng, w, local(d, rng.float(6, 7.5)), 'new_phone');
    if (d === lostDay) lostPhone(em, rng, w, local(d, rng.float(6, 7.5)));
    if (d === forgotDay) forgotPassword(em, rng, w, local(d, rng.float(7, 7.4)));
    const weekday = new Date(start + d * DAY).getUTCDay() % 6 !== 0;
    if (weekday || rng.chance(0.25)) session(em, rng, w, local(d, rng.float(7.5, 10)), 'laptop', rng.int(2, 6), 9, 'workday');
    if (d % 7 === 0) session(em, rng, w, local(d, rng.float(7, 22)), 'phone', rng.int(3, 8), 6 * 24, 'phone');
    if (d === factorDay) addFactor(em, rng, w, local(d, rng.float(12, 17)));
  }
  return (t) => (w.inTransit(t) ? null : w.laptop(t));
}

/** A new phone: first login on it, the authenticator enrolled seconds later, from the same place. */
function newPhone(em: Emitter, rng: Rng, w: Whereabouts, t: number, story: string) {
  if (w.inTransit(t)) return;
  const p = w.p;
  p.phone = `ph-${rng.hex(10)}`;
  const place = rng.chance(0.7) ? w.home(t) : w.phone(t);
  em.event(rng, t, p, place, { type: 'login', deviceId: p.phone, userAgent: p.phoneUa, outcome: 'success', sessionId: `s-${rng.hex(16)}` }, { story });
  em.event(rng, t + rng.float(8, 120) * 1000, p, place, { type: 'mfa_enroll', deviceId: p.phone }, { scored: 'mfa_enroll', story });
}

/** A second factor added from the laptop, often within a minute of signing in. */
function addFactor(em: Emitter, rng: Rng, w: Whereabouts, t: number) {
  if (w.inTransit(t)) return;
  const p = w.p;
  const place = w.laptop(t);
  em.event(
    rng,
    t,
    p,
    place,
    { type: 'login', deviceId: p.laptop, userAgent: p.laptopUa, outcome: 'success', sessionId: `s-${rng.hex(16)}` },
    { story: 'add_factor' },
  );
  const after = rng.chance(0.5) ? rng.float(15, 59) : rng.float(60, 1200);
  em.event(rng, t + after * 1000, p, place, { type: 'mfa_enroll', deviceId: p.laptop }, { scored: 'mfa_enroll', story: 'add_factor' });
}

/** A forgotten password: a few failed logins, the reset request, then a login with the new one. */
function forgotPassword(em: Emitter, rng: Rng, w: Whereabouts, t: number) {
  if (w.inTransit(t)) return;
  const p = w.p;
  const variant = rng.weighted([
    ['laptop', 70],
    ['new_laptop', 15],
    ['phone', 15],
  ] as const);
  const place = variant === 'phone' ? w.phone(t) : variant === 'new_laptop' ? w.home(t) : w.laptop(t);
  if (variant === 'new_laptop') p.laptop = `lt-${rng.hex(10)}`;
  const deviceId = variant === 'phone' ? p.phone : p.laptop;
  const userAgent = variant === 'phone' ? p.phoneUa : p.laptopUa;
  const fails = rng.int(1, 3);
  for (let i = 0; i < fails; i++)
    em.event(rng, t - (fails - i) * rng.float(20, 90) * 1000, p, place, { type: 'login', deviceId, userAgent, outcome: 'failure' }, { story: 'forgot' });
  const story = w.away(t) ? 'reset_travelling' : `reset_${variant}`;
  em.reset(rng, t + rng.float(1, 10) * MIN, p, 'password_reset', { deviceId, userAgent }, place, { story });
  em.event(
    rng,
    t + rng.float(12, 30) * MIN,
    p,
    place,
    { type: 'login', deviceId, userAgent, outcome: 'success', sessionId: `s-${rng.hex(16)}` },
    { story: 'after_reset' },
  );
}

/** A lost phone: an MFA reset asked from the laptop, then the replacement enrolled the next day. */
function lostPhone(em: Emitter, rng: Rng, w: Whereabouts, t: number) {
  if (w.inTransit(t)) return;
  const p = w.p;
  em.reset(rng, t, p, 'mfa_reset', { deviceId: p.laptop, userAgent: p.laptopUa }, w.laptop(t), {
    story: w.away(t) ? 'mfa_reset_travelling' : 'mfa_reset_lost_phone',
  });
  newPhone(em, rng, w, t + rng.float(18, 30) * HOUR, 'replacement_phone');
}
