import { isIP } from 'node:net';
import { IdlehookError } from './errors.js';

/** "10.20.0.0/16", "fd00::/8" or a single address. */
export function isCidr(range: string): boolean {
  const [network = '', prefix, ...rest] = range.split('/');
  const version = isIP(network);
  if (!version || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits >= 0 && bits <= (version === 6 ? 128 : 32);
}

export const CIDR_MESSAGE = 'expected an address or CIDR range, e.g. "10.20.0.0/16"';

/** A request refused by the destination guard: the address is internal (SSRF protection). */
export class ForbiddenDestinationError extends IdlehookError {
  override readonly name = 'ForbiddenDestinationError';
  constructor(address: string, host: string) {
    super(
      'FORBIDDEN_DESTINATION',
      false,
      `${host} resolves to ${address}, a loopback, private, link-local or otherwise internal address (SSRF protection)`,
    );
  }
}
