import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** The webhook URL leads to an address idlehook must not reach. Not retryable: fix the URL or the allowlist. */
export class ForbiddenDestinationError extends Error {
  readonly retryable = false;
  readonly code = 'FORBIDDEN_DESTINATION';
  constructor(address: string, host: string) {
    super(
      `${host} resolves to ${address}, a loopback, private, link-local or otherwise internal address (SSRF protection)`,
    );
    this.name = 'ForbiddenDestinationError';
  }
}

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
];

/**
 * Decides whether a webhook may connect to an address. The check runs on the addresses DNS actually returned,
 * at connect time, so a host name that resolves to an internal address (or rebinds to one) is refused too.
 */
export class DestinationGuard {
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
    // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) reaches the IPv4 address inside it.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const ip = mapped ?? address;
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
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
