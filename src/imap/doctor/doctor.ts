import { lookup } from 'node:dns/promises';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import type { AccountConfig } from '../../config/config.js';
import type { DoctorReport, DoctorStep } from '../../domain/doctor-report.js';
import type { AddressPolicy, OAuth2TokenStore, TokenEndpoint } from '../../ports/watcher.js';
import { loginAndInspect } from './login.js';
import { fail, StepFailure } from './steps.js';
import { checkPlainGreeting, handshake } from './tls.js';

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Walks the path a connection to the account takes (DNS, TCP, TLS or STARTTLS, login, capabilities,
 * mailboxes) and stops at the first stage that fails, with its cause and fix in plain words. It makes exactly
 * one login attempt, so it cannot contribute to an account lockout.
 */
const IMAP_PORTS = 'IMAP listens on 993 for "security": "tls", and on 143 for "starttls" and "none"';

export async function diagnoseAccount(
  account: AccountConfig,
  options: {
    readonly timeoutMs?: number;
    /** The token store the bridge uses, so a refresh here does not strand a rotated refresh token. */
    readonly tokenStore?: OAuth2TokenStore;
    /** Where the OAuth2 token request goes through (guarded like `addresses` where that applies). */
    readonly tokenEndpoint: TokenEndpoint;
    /**
     * The server addresses it may connect to: where the account comes from the API, internal ones are refused, or
     * its caller could probe the bridge's network through the report.
     */
    readonly addresses?: AddressPolicy;
    /** Where the password or refresh token came from (see Config.credentialSources), named when it is refused. */
    readonly credentialSource?: string;
  },
): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const steps: DoctorStep[] = [];
  try {
    const address = await resolveHost(account, steps, options.addresses);
    const socket = await connectTcp(account, address, timeoutMs, steps);
    if (account.security === 'tls') {
      socket.destroy();
      await handshake(account, { host: address }, timeoutMs, steps, 'tls');
    } else {
      await checkPlainGreeting(account, socket, timeoutMs, steps);
    }
    await loginAndInspect(account, steps, options);
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    steps.push(error.step);
  }
  return { account: account.id, ok: steps.every((s) => s.ok), steps };
}

async function resolveHost(
  account: AccountConfig,
  steps: DoctorStep[],
  policy: AddressPolicy | undefined,
): Promise<string> {
  const refuseInternal = (found: readonly string[]) => {
    const internal = found.find((address) => policy && !policy.permits(address));
    if (internal)
      fail({
        name: 'dns',
        summary: `${account.host} is ${internal === account.host ? '' : `at ${internal}, `}an internal address, which accounts made through the API may not use`,
        fix: 'Use the mail server’s public host name. If it is your own server on an internal network, allow that network (IDLEHOOK_ALLOWED_NETWORKS on AWS, delivery.allowedNetworks in local mode).',
      });
  };
  if (isIP(account.host)) {
    refuseInternal([account.host]);
    steps.push({ name: 'dns', ok: true, summary: `${account.host} is an IP address` });
    return account.host;
  }
  let addresses: string[];
  try {
    addresses = (await lookup(account.host, { all: true })).map((a) => a.address);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return fail({
      name: 'dns',
      summary: `${account.host} does not resolve (${code})`,
      fix:
        code === 'EAI_AGAIN'
          ? 'DNS did not answer: check this machine’s network and resolver, then try again.'
          : 'Check the host name for typos; providers publish it (e.g. imap.gmail.com, outlook.office365.com).',
    });
  }
  refuseInternal(addresses);
  steps.push({ name: 'dns', ok: true, summary: `${account.host} resolves to ${addresses.join(', ')}` });
  return addresses[0] ?? account.host;
}

function connectTcp(
  account: AccountConfig,
  address: string,
  timeoutMs: number,
  steps: DoctorStep[],
): Promise<Socket> {
  const where = `${address}:${account.port}`;
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port: account.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new StepFailure({
          name: 'tcp',
          ok: false,
          summary: `no answer from ${where} within ${timeoutMs / 1000} s`,
          fix: `A firewall drops the connection, or the host or port is wrong. ${IMAP_PORTS}; check that outbound traffic to port ${account.port} is allowed.`,
        }),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      steps.push({ name: 'tcp', ok: true, summary: `connected to ${where}` });
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const refused = error.code === 'ECONNREFUSED';
      reject(
        new StepFailure({
          name: 'tcp',
          ok: false,
          summary: refused ? `${where} refused the connection` : `cannot connect to ${where} (${error.code})`,
          fix: refused
            ? `Nothing listens on port ${account.port}: check the port. ${IMAP_PORTS} (this account: "security": "${account.security}").`
            : 'Check the host, the port and this machine’s network.',
        }),
      );
    });
  });
}
