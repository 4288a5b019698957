// The offline IP database: MMDB files read from local disk with the `maxmind` reader, never
// downloaded at start or at run time. City files give country and coordinates (DB-IP Lite's
// flat `country_code`/`latitude`/`longitude`, or MaxMind's nested shape); ASN files give
// `autonomous_system_number`. Files open on the first lookup, once per process.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Reader } from 'maxmind';
import type { ResolvedGeo } from '../domain/risk-signals';

export interface IpDatabase {
  /** What the databases know of an address (empty when nothing, or not an IP). */
  lookup(ip: string): ResolvedGeo;
}

type Rec = Record<string, unknown>;
const req = createRequire(__filename);

/** A package-relative name (`@scope/pkg/file.mmdb`) resolves through node_modules; anything else is a path. */
export function resolveDatabaseFile(f: string): string {
  return path.isAbsolute(f) || f.startsWith('.') ? path.resolve(f) : req.resolve(f);
}

function open(files: readonly string[]): Reader<Rec>[] {
  return files.map((f) => new Reader<Rec>(fs.readFileSync(resolveDatabaseFile(f))));
}

const numberOf = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function cityOf(r: Rec): ResolvedGeo {
  const nested = (k: string) => (r[k] && typeof r[k] === 'object' ? (r[k] as Rec) : {});
  const country = r.country_code ?? nested('country').iso_code;
  const lat = numberOf(r.latitude ?? nested('location').latitude);
  const lon = numberOf(r.longitude ?? nested('location').longitude);
  const out: ResolvedGeo = {};
  if (typeof country === 'string' && /^[A-Z]{2}$/.test(country)) out.country = country;
  if (lat !== undefined && lon !== undefined) Object.assign(out, { lat, lon });
  return out;
}

const isV6 = (ip: string) => ip.includes(':');

/** The first reader of the address's family that has a record for it. */
function first(readers: Reader<Rec>[], ip: string): Rec | null {
  for (const r of readers) {
    if (r.metadata.ipVersion === 4 && isV6(ip)) continue;
    try {
      const rec = r.get(ip);
      if (rec) return rec;
    } catch {
      return null; // not an IP address
    }
  }
  return null;
}

export function openIpDatabase(files: { city: readonly string[]; asn: readonly string[] }): IpDatabase {
  let readers: { city: Reader<Rec>[]; asn: Reader<Rec>[] } | null = null;
  const load = () => (readers ??= { city: open(files.city), asn: open(files.asn) });
  return {
    lookup(ip) {
      const { city, asn } = load();
      const out = cityOf(first(city, ip) ?? {});
      const n = numberOf(first(asn, ip)?.autonomous_system_number);
      if (n !== undefined) out.asn = n;
      return out;
    },
  };
}

/** The databases of these files, shared by every app and worker of the process. */
const shared = new Map<string, IpDatabase>();
export function sharedIpDatabase(files: { city: readonly string[]; asn: readonly string[] }): IpDatabase {
  const key = JSON.stringify(files);
  let db = shared.get(key);
  if (!db) shared.set(key, (db = openIpDatabase(files)));
  return db;
}

/** Caller-given geo wins field by field (coordinates as a pair); the database fills in what it left out. */
export function completeGeo(db: IpDatabase, ip: string, given: ResolvedGeo = {}): ResolvedGeo {
  const givenPoint = given.lat !== undefined && given.lon !== undefined;
  if (given.country !== undefined && given.asn !== undefined && givenPoint) return given;
  const found = db.lookup(ip);
  const out: ResolvedGeo = {};
  const country = given.country ?? found.country;
  if (country !== undefined) out.country = country;
  const asn = given.asn ?? found.asn;
  if (asn !== undefined) out.asn = asn;
  // A caller's country with the database's point in another country would lie: no point then.
  const contradicts = !!given.country && !!found.country && given.country !== found.country;
  if (givenPoint) Object.assign(out, { lat: given.lat, lon: given.lon });
  else if (found.lat !== undefined && !contradicts) Object.assign(out, { lat: found.lat, lon: found.lon });
  return out;
}
