// A tiny MaxMind DB (MMDB v2) writer for fixture databases: a handful of networks, each with a
// record of strings, numbers and maps, as the `maxmind` reader reads them. Tests build their IP
// databases with it at run time (nothing binary is committed); the format is the public
// MaxMind DB spec: a binary search tree (24-bit records), 16 zero bytes, the data section, then
// the metadata after its marker.
import net from 'node:net';

export type MmdbValue = string | number | boolean | MmdbValue[] | { [k: string]: MmdbValue };
export interface MmdbNetwork {
  /** `a.b.c.d/n` or `x:y::/n` (an IPv4 network in an IPv6 database goes under ::/96). */
  cidr: string;
  data: { [k: string]: MmdbValue };
}

function ctrl(type: number, size: number): Buffer {
  const ext = type > 7;
  const head = (t: number, s: number) => (ext ? Buffer.from([s, type - 7]) : Buffer.from([(t << 5) | s]));
  const t = ext ? 0 : type;
  if (size < 29) return head(t, size);
  if (size < 285) return Buffer.concat([head(t, 29), Buffer.from([size - 29])]);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(size - 285);
  return Buffer.concat([head(t, 30), b]);
}

function uint(type: number, n: number | bigint): Buffer {
  let hex = BigInt(n).toString(16);
  if (hex === '0') return ctrl(type, 0);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return Buffer.concat([ctrl(type, bytes.length), bytes]);
}

export function encode(v: MmdbValue): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (typeof v === 'boolean') return ctrl(14, v ? 1 : 0);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return uint(6, v);
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return Buffer.concat([ctrl(3, 8), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

function bitsOf(cidr: string, ipVersion: 4 | 6): number[] {
  const [ip, len] = cidr.split('/');
  const prefix = Number(len);
  let bytes: number[];
  if (net.isIPv4(ip)) {
    bytes = ip.split('.').map(Number);
    if (ipVersion === 6) bytes = [...new Array<number>(12).fill(0), ...bytes];
  } else {
    const [head, tail = ''] = ip.split('::');
    const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
    const h = groups(head);
    const t = ip.includes('::') ? groups(tail) : [];
    const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
    bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  }
  const offset = net.isIPv4(ip) && ipVersion === 6 ? 96 : 0;
  const bits = bytes.flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (b >> i) & 1));
  return bits.slice(0, offset + prefix);
}

type Rec = { node: number } | { data: number } | null;

/** The bytes of an MMDB file holding these networks (later ones win where they overlap). */
export function buildMmdb(o: { ipVersion: 4 | 6; databaseType: string; networks: MmdbNetwork[] }): Buffer {
  const nodes: [Rec, Rec][] = [[null, null]];
  const chunks: Buffer[] = [];
  let dataSize = 0;
  for (const n of o.networks) {
    const data = encode(n.data);
    const at = dataSize;
    chunks.push(data);
    dataSize += data.length;
    const bits = bitsOf(n.cidr, o.ipVersion);
    let node = 0;
    for (let i = 0; i < bits.length - 1; i++) {
      const r = nodes[node][bits[i]];
      if (r && 'node' in r) node = r.node;
      else {
        nodes.push([r, r]);
        nodes[node][bits[i]] = { node: nodes.length - 1 };
        node = nodes.length - 1;
      }
    }
    nodes[node][bits[bits.length - 1]] = { data: at };
  }
  const count = nodes.length;
  const value = (r: Rec) => (r === null ? count : 'node' in r ? r.node : count + 16 + r.data);
  const tree = Buffer.alloc(count * 6);
  nodes.forEach(([l, r], i) => {
    tree.writeUIntBE(value(l), i * 6, 3);
    tree.writeUIntBE(value(r), i * 6 + 3, 3);
  });
  const metadata = encode({
    node_count: count,
    record_size: 24,
    ip_version: o.ipVersion,
    database_type: o.databaseType,
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    description: { en: 'test fixture' },
  });
  const epoch = Buffer.concat([encode('build_epoch'), uint(9, Math.floor(Date.now() / 1000))]);
  // The metadata map above has 8 pairs; build_epoch is appended as a ninth.
  const meta = Buffer.concat([ctrl(7, 9), metadata.subarray(1), epoch]);
  return Buffer.concat([tree, Buffer.alloc(16), ...chunks, Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'), meta]);
}
