// The generator's geography: real city coordinates, real ASNs per country (fixed-line ISPs, mobile
// carriers) and hosting networks where VPN exits and attack infrastructure live. Addresses are
// synthetic but stable: each network owns one /8-like block, so an address says which network
// (and so which country) it belongs to, as a real IP database would.
import type { Rng } from './prng';

export interface City {
  name: string;
  country: string;
  lat: number;
  lon: number;
}

export interface Network {
  asn: number;
  name: string;
  country: string;
  kind: 'isp' | 'mobile' | 'hosting';
}

export const CITIES: readonly City[] = [
  { name: 'London', country: 'GB', lat: 51.5074, lon: -0.1278 },
  { name: 'Manchester', country: 'GB', lat: 53.4808, lon: -2.2426 },
  { name: 'Edinburgh', country: 'GB', lat: 55.9533, lon: -3.1883 },
  { name: 'New York', country: 'US', lat: 40.7128, lon: -74.006 },
  { name: 'San Francisco', country: 'US', lat: 37.7749, lon: -122.4194 },
  { name: 'Chicago', country: 'US', lat: 41.8781, lon: -87.6298 },
  { name: 'Austin', country: 'US', lat: 30.2672, lon: -97.7431 },
  { name: 'Berlin', country: 'DE', lat: 52.52, lon: 13.405 },
  { name: 'Munich', country: 'DE', lat: 48.1351, lon: 11.582 },
  { name: 'Frankfurt', country: 'DE', lat: 50.1109, lon: 8.6821 },
  { name: 'Paris', country: 'FR', lat: 48.8566, lon: 2.3522 },
  { name: 'Lyon', country: 'FR', lat: 45.764, lon: 4.8357 },
  { name: 'Amsterdam', country: 'NL', lat: 52.3676, lon: 4.9041 },
  { name: 'Rotterdam', country: 'NL', lat: 51.9244, lon: 4.4777 },
  { name: 'Madrid', country: 'ES', lat: 40.4168, lon: -3.7038 },
  { name: 'Barcelona', country: 'ES', lat: 41.3874, lon: 2.1686 },
  { name: 'Milan', country: 'IT', lat: 45.4642, lon: 9.19 },
  { name: 'Rome', country: 'IT', lat: 41.9028, lon: 12.4964 },
  { name: 'Bangalore', country: 'IN', lat: 12.9716, lon: 77.5946 },
  { name: 'Mumbai', country: 'IN', lat: 19.076, lon: 72.8777 },
  { name: 'Sao Paulo', country: 'BR', lat: -23.5505, lon: -46.6333 },
  { name: 'Rio de Janeiro', country: 'BR', lat: -22.9068, lon: -43.1729 },
  { name: 'Tokyo', country: 'JP', lat: 35.6762, lon: 139.6503 },
  { name: 'Osaka', country: 'JP', lat: 34.6937, lon: 135.5023 },
  { name: 'Sydney', country: 'AU', lat: -33.8688, lon: 151.2093 },
  { name: 'Melbourne', country: 'AU', lat: -37.8136, lon: 144.9631 },
  { name: 'Toronto', country: 'CA', lat: 43.6532, lon: -79.3832 },
  { name: 'Vancouver', country: 'CA', lat: 49.2827, lon: -123.1207 },
  { name: 'Singapore', country: 'SG', lat: 1.3521, lon: 103.8198 },
  { name: 'Lagos', country: 'NG', lat: 6.5244, lon: 3.3792 },
  { name: 'Moscow', country: 'RU', lat: 55.7558, lon: 37.6173 },
  { name: 'Hanoi', country: 'VN', lat: 21.0278, lon: 105.8342 },
  { name: 'Ho Chi Minh City', country: 'VN', lat: 10.8231, lon: 106.6297 },
  { name: 'Bucharest', country: 'RO', lat: 44.4268, lon: 26.1025 },
];

export const NETWORKS: readonly Network[] = [
  { asn: 2856, name: 'BT', country: 'GB', kind: 'isp' },
  { asn: 5089, name: 'Virgin Media', country: 'GB', kind: 'isp' },
  { asn: 5607, name: 'Sky UK', country: 'GB', kind: 'isp' },
  { asn: 25135, name: 'Vodafone UK', country: 'GB', kind: 'mobile' },
  { asn: 12576, name: 'EE', country: 'GB', kind: 'mobile' },
  { asn: 7922, name: 'Comcast', country: 'US', kind: 'isp' },
  { asn: 7018, name: 'AT&T', country: 'US', kind: 'isp' },
  { asn: 20115, name: 'Charter', country: 'US', kind: 'isp' },
  { asn: 21928, name: 'T-Mobile US', country: 'US', kind: 'mobile' },
  { asn: 6167, name: 'Verizon Wireless', country: 'US', kind: 'mobile' },
  { asn: 3320, name: 'Deutsche Telekom', country: 'DE', kind: 'isp' },
  { asn: 3209, name: 'Vodafone DE', country: 'DE', kind: 'isp' },
  { asn: 6805, name: 'Telefonica DE', country: 'DE', kind: 'mobile' },
  { asn: 3215, name: 'Orange', country: 'FR', kind: 'isp' },
  { asn: 12322, name: 'Free', country: 'FR', kind: 'isp' },
  { asn: 5410, name: 'Bouygues', country: 'FR', kind: 'mobile' },
  { asn: 1136, name: 'KPN', country: 'NL', kind: 'isp' },
  { asn: 33915, name: 'Ziggo', country: 'NL', kind: 'isp' },
  { asn: 3352, name: 'Telefonica ES', country: 'ES', kind: 'isp' },
  { asn: 12430, name: 'Vodafone ES', country: 'ES', kind: 'mobile' },
  { asn: 3269, name: 'Telecom Italia', country: 'IT', kind: 'isp' },
  { asn: 30722, name: 'Vodafone IT', country: 'IT', kind: 'mobile' },
  { asn: 9498, name: 'Airtel', country: 'IN', kind: 'mobile' },
  { asn: 55836, name: 'Jio', country: 'IN', kind: 'mobile' },
  { asn: 9829, name: 'BSNL', country: 'IN', kind: 'isp' },
  { asn: 28573, name: 'Claro', country: 'BR', kind: 'isp' },
  { asn: 26599, name: 'Vivo', country: 'BR', kind: 'mobile' },
  { asn: 4713, name: 'NTT OCN', country: 'JP', kind: 'isp' },
  { asn: 2516, name: 'KDDI', country: 'JP', kind: 'mobile' },
  { asn: 1221, name: 'Telstra', country: 'AU', kind: 'isp' },
  { asn: 4804, name: 'Optus', country: 'AU', kind: 'mobile' },
  { asn: 812, name: 'Rogers', country: 'CA', kind: 'isp' },
  { asn: 577, name: 'Bell Canada', country: 'CA', kind: 'mobile' },
  { asn: 7473, name: 'Singtel', country: 'SG', kind: 'isp' },
  { asn: 4657, name: 'StarHub', country: 'SG', kind: 'mobile' },
  { asn: 29465, name: 'MTN Nigeria', country: 'NG', kind: 'mobile' },
  { asn: 36873, name: 'Airtel Nigeria', country: 'NG', kind: 'isp' },
  { asn: 12389, name: 'Rostelecom', country: 'RU', kind: 'isp' },
  { asn: 8359, name: 'MTS', country: 'RU', kind: 'mobile' },
  { asn: 45899, name: 'VNPT', country: 'VN', kind: 'isp' },
  { asn: 7552, name: 'Viettel', country: 'VN', kind: 'mobile' },
  { asn: 8708, name: 'RCS & RDS', country: 'RO', kind: 'isp' },
  // Hosting: VPN exits, proxies and attack servers (country of the data centre).
  { asn: 14061, name: 'DigitalOcean', country: 'US', kind: 'hosting' },
  { asn: 16509, name: 'Amazon', country: 'US', kind: 'hosting' },
  { asn: 20473, name: 'Vultr', country: 'US', kind: 'hosting' },
  { asn: 16276, name: 'OVH', country: 'FR', kind: 'hosting' },
  { asn: 24940, name: 'Hetzner', country: 'DE', kind: 'hosting' },
  { asn: 60781, name: 'Leaseweb', country: 'NL', kind: 'hosting' },
  { asn: 9009, name: 'M247', country: 'RO', kind: 'hosting' },
  { asn: 9009, name: 'M247', country: 'GB', kind: 'hosting' },
  { asn: 60068, name: 'Datacamp', country: 'GB', kind: 'hosting' },
  { asn: 60068, name: 'Datacamp', country: 'SG', kind: 'hosting' },
  { asn: 212238, name: 'Datacamp', country: 'JP', kind: 'hosting' },
];

/** Where users live: the countries of the tenants' staff, most common first. */
export const HOME_COUNTRIES: readonly (readonly [string, number])[] = [
  ['US', 30],
  ['GB', 16],
  ['DE', 12],
  ['FR', 8],
  ['NL', 5],
  ['ES', 5],
  ['IT', 4],
  ['IN', 6],
  ['BR', 4],
  ['JP', 3],
  ['AU', 3],
  ['CA', 3],
  ['SG', 1],
];

/** Where attack infrastructure tends to sit when it does not pose as the victim's country. */
export const ATTACK_COUNTRIES: readonly (readonly [string, number])[] = [
  ['NG', 3],
  ['RU', 3],
  ['VN', 3],
  ['RO', 2],
  ['BR', 2],
  ['IN', 2],
  ['US', 1],
];

export const citiesIn = (country: string) => CITIES.filter((c) => c.country === country);
export const networksIn = (country: string, kind: Network['kind']) => NETWORKS.filter((n) => n.country === country && n.kind === kind);
export const hostingNetworks = () => NETWORKS.filter((n) => n.kind === 'hosting');

/** Each network's first octet: a stable, public-looking block per network. */
const FIRST_OCTET = new Map(NETWORKS.map((n, i) => [`${n.asn}:${n.country}`, 23 + i]));

/** A fresh address in the network's block. */
export function ipIn(rng: Rng, n: Network): string {
  return `${FIRST_OCTET.get(`${n.asn}:${n.country}`)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

export interface Place {
  city: City;
  network: Network;
  ip: string;
}

/** The geo an ingesting product would attach to an address: its city's coordinates (a few km of noise), country and ASN. */
export function geoOf(rng: Rng, p: Place) {
  return {
    country: p.network.kind === 'hosting' ? p.network.country : p.city.country,
    lat: round(p.city.lat + rng.float(-0.05, 0.05)),
    lon: round(p.city.lon + rng.float(-0.05, 0.05)),
    asn: p.network.asn,
  };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** A city where a hosting network's data centre is (its country's first city). */
export function cityOfNetwork(n: Network): City {
  return citiesIn(n.country)[0];
}
