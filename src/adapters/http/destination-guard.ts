import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { ForbiddenDestinationError } from '../../domain/networks.js';
import type { AddressPolicy } from '../../ports/watcher.js';

/** The webhook URL leads to an address idlehook must not reach. Not retryable: fix the URL or the allowlist. */

/** Loopback, private, link-local (incl. the EC2 metadata and ECS task-credential endpoints), unspecified, multicast. */
const FORBIDDEN: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the network, so none is reachable.
  ['64:ff9b:1::', 48, 'ipv6'],
];

/** The 16 bytes of an IPv6 address in any textual form (with `::`, with a trailing dotted quad). */
function ipv6Bytes(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const groups = (part: string | undefined): number[] =>
    !part
      ? []
      : part.split(':').flatMap((group) => {
          if (group.includes('.')) {
            const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
            return [(a << 8) | b, (c << 8) | d];
          }
          return [Number.parseInt(group, 16)];
        });
  const left = groups(head);
  const right = groups(tail);
  const words =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

const zeros = (bytes: readonly number[]) => bytes.every((b) => b === 0);

/**
 * The IPv4 address an IPv6 address reaches, when it embeds one: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
 * (::a.b.c.d, RFC 4291 2.5.5.1), the well-known NAT64 prefix (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC
 * 3056). Each, in either notation, reaches the IPv4 address inside it, so that address is what gets checked.
 */
export function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const b = ipv6Bytes(address);
  const v4 = (from: number) => b.slice(from, from + 4).join('.');
  if (zeros(b.slice(0, 10)) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zeros(b.slice(0, 12)) && !zeros(b.slice(12, 15))) return v4(12);
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(b.slice(4, 12))) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

/**
 * Decides whether a webhook may connect to an address. The check runs on the addresses DNS actually returned,
 * at connect time, so a host name that resolves to an internal address (or rebinds to one) is refused too.
 */
export class DestinationGuard implements AddressPolicy {
  private readonly forbidden = new BlockList();
  private readonly allowed = new BlockList();

  /** `allow`: CIDR ranges (e.g. "10.20.0.0/16", see isCidr) that are internal but intentionally reachable. */
  constructor(allow: readonly string[] = []) {
    for (const [network, prefix, type] of FORBIDDEN) this.forbidden.addSubnet(network, prefix, type);
    for (const range of allow) {
      const [network = '', prefix = ''] = range.split('/');
      const type = isIP(network) === 6 ? 'ipv6' : 'ipv4';
      this.allowed.addSubnet(network, Number(prefix || (type === 'ipv6' ? 128 : 32)), type);
    }
  }

  permits(address: string): boolean {
    const inner = embeddedIpv4(address);
    if (inner !== undefined) return this.permitsOne(inner, 'ipv4');
    return this.permitsOne(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }

  private permitsOne(ip: string, type: 'ipv4' | 'ipv6'): boolean {
    return this.allowed.check(ip, type) || !this.forbidden.check(ip, type);
  }

  /** Throws ForbiddenDestinationError for a URL whose host is a forbidden IP literal (no DNS lookup happens then). */
  checkUrl(url: string): void {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !this.permits(host)) throw new ForbiddenDestinationError(host, host);
  }

  /** A `lookup` for net/tls connect options that refuses forbidden addresses. */
  readonly lookup = (
    hostname: string,
    options: object,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = addresses.find((a) => !this.permits(a.address));
      if (refused) return callback(new ForbiddenDestinationError(refused.address, hostname), []);
      const all = (options as { all?: boolean }).all;
      if (all) return callback(null, addresses);
      const [first] = addresses;
      return callback(null, first?.address ?? '', first?.family);
    });
  };
}

/**
 * Local mode's guard, for webhooks, OAuth2 token requests and the API's doctor: only where the config asks for it
 * (by default, when the API is reachable from other machines); local endpoints are the norm otherwise.
 */
export function destinationGuardFor(delivery: {
  readonly blockInternalAddresses: boolean;
  readonly allowedNetworks: readonly string[];
}): DestinationGuard | undefined {
  return delivery.blockInternalAddresses ? new DestinationGuard(delivery.allowedNetworks) : undefined;
}
