// The offline IP database (infra/ip-database.ts) read through the `maxmind` reader, on fixture
// MMDB files built by testkit/mmdb.ts: DB-IP Lite's flat city shape for IPv4 and IPv6, MaxMind's
// nested shape, and an ASN file; the caller's geo wins field by field.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { completeGeo, openIpDatabase, type IpDatabase } from '../../infra/ip-database';
import { buildMmdb } from '../../testkit/mmdb';

let db: IpDatabase;
before(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipdb-'));
  const write = (name: string, buf: Buffer) => {
    fs.writeFileSync(path.join(dir, name), buf);
    return path.join(dir, name);
  };
  const cityV4 = write(
    'city-v4.mmdb',
    buildMmdb({
      ipVersion: 4,
      databaseType: 'city ipv4',
      networks: [
        { cidr: '81.2.69.0/24', data: { city: 'London', country_code: 'GB', latitude: 51.5142, longitude: -0.0931 } },
        { cidr: '203.0.113.0/24', data: { city: 'Sydney', country_code: 'AU', latitude: -33.8688, longitude: 151.2093 } },
      ],
    }),
  );
  const cityV6 = write(
    'city-v6.mmdb',
    buildMmdb({
      ipVersion: 6,
      databaseType: 'city ipv6',
      networks: [{ cidr: '2001:db8:100::/40', data: { country: { iso_code: 'DE' }, location: { latitude: 52.52, longitude: 13.405 } } }],
    }),
  );
  const asn = write(
    'asn.mmdb',
    buildMmdb({
      ipVersion: 6,
      databaseType: 'ASN',
      networks: [
        { cidr: '81.2.69.0/24', data: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold' } },
        { cidr: '2001:db8:100::/40', data: { autonomous_system_number: 3320 } },
      ],
    }),
  );
  db = openIpDatabase({ city: [cityV4, cityV6], asn: [asn] });
});

describe('IP -> country, ASN and coordinates from local MMDB files', () => {
  it('reads an IPv4 address from the flat (DB-IP Lite) city shape and the ASN file', () => {
    assert.deepEqual(db.lookup('81.2.69.160'), { country: 'GB', lat: 51.5142, lon: -0.0931, asn: 20712 });
  });

  it('reads an IPv6 address from the nested (MaxMind) shape; an IPv4 file is skipped for it', () => {
    assert.deepEqual(db.lookup('2001:db8:1ff::1'), { country: 'DE', lat: 52.52, lon: 13.405, asn: 3320 });
  });

  it('knows nothing of an address outside every network, nor of something that is not an IP', () => {
    assert.deepEqual(db.lookup('192.0.2.1'), {});
    assert.deepEqual(db.lookup('2001:db8:200::1'), {});
    assert.deepEqual(db.lookup('not-an-ip'), {});
  });
});

describe('caller-given geo wins', () => {
  it('a complete caller geo is used as given', () => {
    const given = { country: 'FR', asn: 3215, lat: 48.85, lon: 2.35 };
    assert.deepEqual(completeGeo(db, '81.2.69.160', given), given);
  });

  it('fields left out come from the database', () => {
    assert.deepEqual(completeGeo(db, '81.2.69.160', { asn: 64500 }), { country: 'GB', asn: 64500, lat: 51.5142, lon: -0.0931 });
    assert.deepEqual(completeGeo(db, '203.0.113.9'), { country: 'AU', lat: -33.8688, lon: 151.2093 });
  });

  it("a caller's country that contradicts the database keeps the database's coordinates out", () => {
    assert.deepEqual(completeGeo(db, '81.2.69.160', { country: 'US' }), { country: 'US', asn: 20712 });
  });
});
