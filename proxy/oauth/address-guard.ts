// Which network addresses the authorization server may fetch a client's metadata document from: public
// unicast only. Loopback, private, link-local (169.254.0.0/16, the cloud metadata service), carrier-grade NAT,
// documentation, multicast and other special-use ranges are refused, so a client_id URL cannot make the server
// probe its own network (SSRF). Loopback alone can be allowed for local development. Pure; no DNS here.
import { BlockList, isIP } from 'node:net';

const specialUseV4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;
const specialUseV6 = [
  ['::', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const;

const special = new BlockList();
for (const [net, prefix] of specialUseV4) special.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of specialUseV6) special.addSubnet(net, prefix, 'ipv6');
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export type AddressVerdict = 'public' | 'loopback' | 'special-use' | 'invalid';

/** Classifies an IP literal; IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it maps. */
export function classifyAddress(address: string): AddressVerdict {
  let ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) ip = mapped[1]!;
  const family = isIP(ip);
  if (family === 0) return 'invalid';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(ip, type)) return 'loopback';
  if (special.check(ip, type)) return 'special-use';
  // IPv4-mapped in hex form (::ffff:7f00:1) and IPv4-compatible forms: refuse rather than decode.
  if (family === 6 && /^::(ffff:)?[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(ip)) return 'special-use';
  return 'public';
}

/** True when the server may connect to `address` (`allowLoopback`: the development setting). */
export function addressAllowed(address: string, allowLoopback: boolean): boolean {
  const verdict = classifyAddress(address);
  return verdict === 'public' || (verdict === 'loopback' && allowLoopback);
}
