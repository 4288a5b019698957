// Which network an address is on, for the rules that compare where a session or a login came
// from: the ASN when known (a phone moving between a carrier's addresses keeps its ASN), else the
// address's /16 (IPv4) or /32 (IPv6) prefix. Pure.

/** Where an address sits: its ASN when known, else its prefix. */
export interface NetworkPoint {
  ip: string;
  asn?: number | null;
}

/** The first two octets of an IPv4 address (IPv4-mapped IPv6 included), or the first two groups of an IPv6 one. */
export function networkPrefix(ip: string): { family: 4 | 6; prefix: string } | null {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/i.exec(ip);
  if (v4) return { family: 4, prefix: `${Number(v4[1])}.${Number(v4[2])}` };
  if (!ip.includes(':')) return null;
  const [head] = ip.toLowerCase().split('::');
  const groups = head ? head.split(':') : [];
  const first = (groups[0] ?? '0').replace(/^0+(?=.)/, '');
  const second = (groups[1] ?? '0').replace(/^0+(?=.)/, '');
  return { family: 6, prefix: `${first}:${second}` };
}

/**
 * Whether two addresses are on the same network, or null when that cannot be judged. When both
 * ASNs are known, the same ASN is the same network; otherwise the same /16 (IPv4) or /32 (IPv6)
 * prefix. An IPv4 address against an IPv6 one without both ASNs is not judged: dual-stack devices
 * switch families.
 */
export function sameNetwork(a: NetworkPoint, b: NetworkPoint): boolean | null {
  if (a.asn != null && b.asn != null) return a.asn === b.asn;
  const pa = networkPrefix(a.ip);
  const pb = networkPrefix(b.ip);
  if (!pa || !pb || pa.family !== pb.family) return null;
  return pa.prefix === pb.prefix;
}

/** A network's name for set membership: `AS<n>`, else its prefix (or the address itself). */
export function networkKey(p: NetworkPoint): string {
  if (p.asn != null) return `AS${p.asn}`;
  const prefix = networkPrefix(p.ip);
  return prefix ? `${prefix.family}:${prefix.prefix}` : p.ip;
}
