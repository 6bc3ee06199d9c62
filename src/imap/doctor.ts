import { lookup } from 'node:dns/promises';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { type PeerCertificate, rootCertificates, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ImapFlow } from 'imapflow';
import type { AccountConfig } from '../config/config.js';
import type { OAuth2TokenStore } from '../ports/index.js';
import { type ImapCredentials, imapClientOptions } from './client-options.js';
import { OAuth2Tokens } from './oauth2-tokens.js';

/** One stage of the path a connection takes, as the doctor found it. */
export interface DoctorStep {
  readonly name: 'dns' | 'tcp' | 'tls' | 'starttls' | 'login' | 'capabilities' | 'mailboxes';
  readonly ok: boolean;
  readonly summary: string;
  /** What to change, when it failed (or a warning needs action). */
  readonly fix?: string;
  readonly warnings?: readonly string[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface DoctorReport {
  readonly account: string;
  readonly ok: boolean;
  readonly steps: readonly DoctorStep[];
}

const DEFAULT_TIMEOUT_MS = 10_000;

class StepFailure extends Error {
  constructor(readonly step: DoctorStep) {
    super(step.summary);
  }
}

const fail = (step: Omit<DoctorStep, 'ok'>): never => {
  throw new StepFailure({ ...step, ok: false });
};

/**
 * Walks the path a connection to the account takes (DNS, TCP, TLS or STARTTLS, login, capabilities,
 * mailboxes) and stops at the first stage that fails, with its cause and fix in plain words. It makes exactly
 * one login attempt, so it cannot contribute to an account lockout.
 */
export async function diagnoseAccount(
  account: AccountConfig,
  options: {
    readonly timeoutMs?: number;
    /** The token store the bridge uses, so a refresh here does not strand a rotated refresh token. */
    readonly tokenStore?: OAuth2TokenStore;
  } = {},
): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const steps: DoctorStep[] = [];
  try {
    const address = await resolveHost(account, steps);
    const socket = await connectTcp(account, address, timeoutMs, steps);
    if (account.security === 'tls') {
      socket.destroy();
      await handshake(account, { host: address }, timeoutMs, steps, 'tls');
    } else {
      await checkPlainGreeting(account, socket, timeoutMs, steps);
    }
    await loginAndInspect(account, steps, options.tokenStore);
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    steps.push(error.step);
  }
  return { account: account.id, ok: steps.every((s) => s.ok), steps };
}

async function resolveHost(account: AccountConfig, steps: DoctorStep[]): Promise<string> {
  if (isIP(account.host)) {
    steps.push({ name: 'dns', ok: true, summary: `${account.host} is an IP address` });
    return account.host;
  }
  try {
    const addresses = await lookup(account.host, { all: true });
    steps.push({
      name: 'dns',
      ok: true,
      summary: `${account.host} resolves to ${addresses.map((a) => a.address).join(', ')}`,
    });
    return addresses[0]?.address ?? account.host;
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
          fix: 'A firewall drops the connection, or the host or port is wrong. IMAP listens on 993 (TLS) or 143 (STARTTLS); check that outbound traffic to that port is allowed.',
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
            ? `Nothing listens on port ${account.port}: check the port (993 for "security": "tls", 143 for "starttls").`
            : 'Check the host, the port and this machine’s network.',
        }),
      );
    });
  });
}

const CERTIFICATE_FIXES: Record<string, (cert: CertificateFacts, account: AccountConfig) => string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: () =>
    'The server presents a self-signed certificate. Ask for a certificate from a public CA, or, if you trust this server, add its certificate as a CA: "tls": { "ca": "server.pem" }.',
  SELF_SIGNED_CERT_IN_CHAIN: (cert) =>
    `The certificate chains to a CA this machine does not trust (${cert.issuer}). If you trust it, add that CA: "tls": { "ca": "ca.pem" }.`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: (cert) =>
    `The certificate was issued by a CA this machine does not trust (${cert.issuer}). Add that CA with "tls": { "ca": "ca.pem" }, or ask the server's administrator to send the full chain.`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: (cert) =>
    `The certificate was issued by a CA this machine does not trust (${cert.issuer}). Add that CA with "tls": { "ca": "ca.pem" }.`,
  CERT_HAS_EXPIRED: (cert) =>
    `The certificate expired on ${cert.validTo}. The server's administrator must renew it; idlehook does not connect to a server with an expired certificate.`,
  CERT_NOT_YET_VALID: (cert) =>
    `The certificate is valid only from ${cert.validFrom}: check this machine's clock, or the server's certificate.`,
  ERR_TLS_CERT_ALTNAME_INVALID: (cert, account) =>
    `The certificate names ${cert.names.join(', ') || cert.subject}, not ${account.tls.servername ?? account.host}. Connect by one of those names, or set "tls": { "servername": "..." } when connecting by IP address.`,
};

interface CertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly names: readonly string[];
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function factsOf(cert: PeerCertificate): CertificateFacts {
  return {
    subject: first(cert.subject?.CN) ?? JSON.stringify(cert.subject ?? {}),
    issuer: first(cert.issuer?.CN) ?? JSON.stringify(cert.issuer ?? {}),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: new Date(cert.valid_to).toISOString(),
    names: (cert.subjectaltname ?? '')
      .split(', ')
      .filter(Boolean)
      .map((n) => n.replace(/^(DNS|IP Address):/, '')),
  };
}

function tlsOptions(account: AccountConfig) {
  const servername = account.tls.servername ?? (isIP(account.host) ? undefined : account.host);
  return {
    port: account.port,
    ...(servername ? { servername } : {}),
    minVersion: 'TLSv1.2' as const,
    ...(account.tls.ca ? { ca: [...rootCertificates, account.tls.ca] } : {}),
  };
}

/**
 * A TLS handshake that reports on the certificate. Verification is done here, from the handshake's own result
 * (authorized / authorizationError), so an untrusted certificate can still be described; nothing is ever sent
 * over this connection, and the login that follows verifies as the watcher does.
 */
async function handshake(
  account: AccountConfig,
  over: { host: string } | { socket: Socket },
  timeoutMs: number,
  steps: DoctorStep[],
  name: 'tls' | 'starttls',
): Promise<void> {
  const where = `${account.host}:${account.port}`;
  let socket: TLSSocket;
  try {
    socket = await new Promise<TLSSocket>((resolve, reject) => {
      const tls = tlsConnect({ ...tlsOptions(account), ...over, rejectUnauthorized: false });
      const timer = setTimeout(() => {
        tls.destroy();
        reject(
          Object.assign(new Error(`no TLS answer within ${timeoutMs / 1000} s`), {
            code: 'HANDSHAKE_TIMEOUT',
          }),
        );
      }, timeoutMs);
      tls.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(tls);
      });
      tls.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const plainText = /wrong version number|packet length too long|unknown protocol|http request/i.test(
      (error as Error).message,
    );
    return fail({
      name,
      summary: plainText
        ? `${where} answered in plain text, not TLS`
        : `the TLS handshake with ${where} failed (${code}: ${(error as Error).message})`,
      fix: plainText
        ? `Port ${account.port} is not an implicit-TLS port. Use "security": "starttls" on the server's STARTTLS port (usually 143), or "tls" on its TLS port (usually 993).`
        : 'The server may not support TLS 1.2 or later, which idlehook requires, or the port is wrong.',
      details: { code },
    });
  }
  const cert = factsOf(socket.getPeerCertificate());
  const protocol = socket.getProtocol();
  const authorized = socket.authorized;
  const code = String(socket.authorizationError ?? '');
  socket.destroy();
  if (!authorized) {
    const fix = CERTIFICATE_FIXES[code];
    return fail({
      name,
      summary: `the certificate of ${where} is not valid (${code}): subject ${cert.subject}, issuer ${cert.issuer}, valid ${cert.validFrom} to ${cert.validTo}`,
      fix: fix
        ? fix(cert, account)
        : 'Fix the server certificate, or add its CA with "tls": { "ca": "ca.pem" }.',
      details: { code, certificate: cert },
    });
  }
  steps.push({
    name,
    ok: true,
    summary: `${protocol} with a valid certificate for ${cert.subject}, issued by ${cert.issuer}, valid until ${cert.validTo}`,
    details: { protocol, certificate: cert },
  });
}

/** Reads lines until one matches; for the few plain-text IMAP exchanges before TLS. */
function readUntil(
  socket: Socket,
  done: (line: string) => boolean,
  timeoutMs: number,
): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    let buffer = '';
    const lines: string[] = [];
    const finish = (result: string[] | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      let index = buffer.indexOf('\n');
      while (index >= 0) {
        const line = buffer.slice(0, index).replace(/\r$/, '');
        buffer = buffer.slice(index + 1);
        lines.push(line);
        if (done(line)) return finish(lines);
        index = buffer.indexOf('\n');
      }
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('data', onData);
  });
}

/** STARTTLS or plain text: the greeting, the STARTTLS offer, then the upgrade (never a plain-text login). */
async function checkPlainGreeting(
  account: AccountConfig,
  socket: Socket,
  timeoutMs: number,
  steps: DoctorStep[],
): Promise<void> {
  const where = `${account.host}:${account.port}`;
  const greeting = await readUntil(socket, () => true, timeoutMs);
  if (!greeting || !/^\* (OK|PREAUTH)/i.test(greeting[0] ?? '')) {
    socket.destroy();
    return fail({
      name: 'starttls',
      summary: greeting
        ? `${where} did not greet like an IMAP server`
        : `${where} sent no IMAP greeting within ${timeoutMs / 1000} s`,
      fix: `Port ${account.port} is probably an implicit-TLS port (usually 993): use "security": "tls" there.`,
    });
  }
  if (account.security === 'none') {
    socket.destroy();
    steps.push({
      name: 'starttls',
      ok: true,
      summary: `${where} greets in plain text`,
      warnings: ['"security": "none": the password and all mail cross the network unencrypted'],
    });
    return;
  }
  socket.write('A1 CAPABILITY\r\n');
  const capability = (await readUntil(socket, (line) => line.startsWith('A1 '), timeoutMs)) ?? [];
  if (!capability.some((line) => /\bSTARTTLS\b/i.test(line))) {
    socket.destroy();
    return fail({
      name: 'starttls',
      summary: `${where} does not offer STARTTLS`,
      fix: 'idlehook never logs in over plain text. Use "security": "tls" on the server’s TLS port (usually 993); only on a trusted local network, "security": "none" with "allowInsecure": true.',
    });
  }
  socket.write('A2 STARTTLS\r\n');
  const answer = await readUntil(socket, (line) => line.startsWith('A2 '), timeoutMs);
  if (!answer?.at(-1)?.startsWith('A2 OK')) {
    socket.destroy();
    return fail({
      name: 'starttls',
      summary: `${where} offered STARTTLS but refused it: ${answer?.at(-1) ?? 'no answer'}`,
      fix: 'Use "security": "tls" on the server’s TLS port (usually 993).',
    });
  }
  await handshake(account, { socket }, timeoutMs, steps, 'starttls');
}

const LOGIN_CAUSES: readonly { readonly pattern: RegExp; readonly summary: string; readonly fix: string }[] =
  [
    {
      pattern: /application-specific password|app password|\bASP\b/i,
      summary: 'the provider requires an app password (or OAuth2) for IMAP',
      fix: 'Create an app password in the account’s security settings and use it instead of the account password.',
    },
    {
      pattern: /web login required|log ?in via your web browser|WEBALERT/i,
      summary: 'the provider blocked this login until someone signs in on the web',
      fix: 'Sign in to the account in a browser once and confirm the login, then run the doctor again.',
    },
    {
      pattern: /IMAP (access )?is disabled|not enabled for IMAP|IMAP.*not enabled/i,
      summary: 'IMAP access is switched off for this account',
      fix: 'Enable IMAP in the account’s (or the organisation’s) mail settings.',
    },
    {
      pattern: /CONTACTADMIN|AUTHORIZATIONFAILED|disabled|locked|suspended|blocked/i,
      summary: 'the account is disabled or locked',
      fix: 'Ask the mail administrator to unlock or enable it; further logins will not help and may extend a lockout.',
    },
    {
      pattern: /UNAVAILABLE|try again later|temporar/i,
      summary: 'the server is temporarily unable to log anyone in',
      fix: 'Wait and run the doctor again; if it persists, ask the provider.',
    },
  ];

async function credentialsFor(
  account: AccountConfig,
  tokenStore: OAuth2TokenStore | undefined,
): Promise<ImapCredentials> {
  if (account.auth.kind === 'password') return { pass: account.auth.password };
  try {
    const tokens = new OAuth2Tokens(account.id, account.auth, { now: () => Date.now() }, tokenStore);
    return { accessToken: (await tokens.accessToken()).accessToken };
  } catch (error) {
    return fail({
      name: 'login',
      summary: `no OAuth2 access token: ${(error as Error).message}`,
      fix: 'Check oauth2.tokenUrl, clientId, clientSecret and refreshToken; a revoked refresh token needs a new authorization.',
    });
  }
}

async function loginAndInspect(
  account: AccountConfig,
  steps: DoctorStep[],
  tokenStore: OAuth2TokenStore | undefined,
): Promise<void> {
  const credentials = await credentialsFor(account, tokenStore);
  const client = new ImapFlow({ ...imapClientOptions(account, credentials), connectionTimeout: 15_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.close();
    const e = error as {
      authenticationFailed?: boolean;
      serverResponseCode?: string;
      responseText?: string;
      message?: string;
    };
    const server = [e.serverResponseCode, e.responseText].filter(Boolean).join(' ') || (e.message ?? '');
    if (!e.authenticationFailed) {
      return fail({
        name: 'login',
        summary: `the connection failed before the login: ${server}`,
        fix: 'Run the doctor again; if it persists, check the server.',
      });
    }
    const cause = LOGIN_CAUSES.find((c) => c.pattern.test(server));
    return fail({
      name: 'login',
      summary: `${account.host} rejected the login for ${account.user}: ${cause?.summary ?? 'wrong user name or password'} (server said: ${server})`,
      fix:
        cause?.fix ??
        'Check the user name (often the full address) and the password. Some providers (Gmail, iCloud, Yahoo, Outlook with security defaults) need an app password or OAuth2.',
      details: { serverResponse: server },
    });
  }
  steps.push({ name: 'login', ok: true, summary: `logged in as ${account.user} (one attempt)` });
  try {
    const capabilities = client.capabilities;
    const has = (name: string) => capabilities.has(name);
    const warnings = [
      ...(has('IDLE')
        ? []
        : [`no IDLE: new mail is found by polling every imap.checkIntervalSeconds, not pushed`]),
      ...(has('CONDSTORE') ? [] : ['no CONDSTORE: message.flags_changed cannot be announced']),
      ...(has('QRESYNC')
        ? []
        : ['no QRESYNC: deletions are found by comparing UIDs (one UID SEARCH per session and per expunge)']),
    ];
    steps.push({
      name: 'capabilities',
      ok: true,
      summary: ['IDLE', 'CONDSTORE', 'QRESYNC', 'MOVE', 'UIDPLUS']
        .map((c) => `${c} ${has(c) ? 'yes' : 'no'}`)
        .join(', '),
      ...(warnings.length > 0 ? { warnings } : {}),
      details: { capabilities: [...capabilities.keys()] },
    });
    const listed = await client.list();
    const paths = listed.map((m) => m.path);
    const missing = account.mailboxes.filter(
      (m) => !paths.some((p) => p === m || (m.toUpperCase() === 'INBOX' && p.toUpperCase() === 'INBOX')),
    );
    if (missing.length > 0) {
      return fail({
        name: 'mailboxes',
        summary: `not on the server: ${missing.join(', ')}`,
        fix: `Mailbox names are case-sensitive and include their parents (e.g. "INBOX/Support" or "[Gmail]/Sent Mail"). The account has: ${paths.join(', ')}`,
      });
    }
    steps.push({
      name: 'mailboxes',
      ok: true,
      summary:
        account.mailboxes.length === 1
          ? `${account.mailboxes[0]} exists (1 connection when watched)`
          : `${account.mailboxes.join(', ')} exist (${account.mailboxes.length} connections when watched)`,
    });
  } finally {
    await client.logout().catch(() => client.close());
  }
}
