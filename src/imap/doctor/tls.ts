import { isIP, type Socket } from 'node:net';
import {
  type DetailedPeerCertificate,
  type PeerCertificate,
  rootCertificates,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import type { AccountConfig } from '../../config/config.js';
import type { DoctorStep } from '../../domain/doctor-report.js';
import { errorMessage, IdlehookError } from '../../domain/errors.js';
import { fail } from './steps.js';

const CERTIFICATE_FIXES = new Map<string, (cert: CertificateFacts, account: AccountConfig) => string>([
  [
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    () =>
      'The server presents a self-signed certificate. Ask for a certificate from a public CA, or, if you trust this server, add its certificate as a CA: "tls": { "ca": "server.pem" }.',
  ],
  [
    'SELF_SIGNED_CERT_IN_CHAIN',
    (cert) =>
      `The certificate chains to a CA this machine does not trust (${cert.issuer}). If you trust it, add that CA: "tls": { "ca": "ca.pem" }.`,
  ],
  [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    (cert) =>
      `The certificate was issued by a CA this machine does not trust (${cert.issuer}). Add that CA with "tls": { "ca": "ca.pem" }, or ask the server's administrator to send the full chain.`,
  ],
  [
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    (cert) =>
      `The certificate was issued by a CA this machine does not trust (${cert.issuer}). Add that CA with "tls": { "ca": "ca.pem" }.`,
  ],
  [
    'CERT_HAS_EXPIRED',
    (cert) =>
      `The certificate expired on ${cert.validTo}. The server's administrator must renew it; idlehook does not connect to a server with an expired certificate.`,
  ],
  [
    'CERT_NOT_YET_VALID',
    (cert) =>
      `The certificate is valid only from ${cert.validFrom}: check this machine's clock, or the server's certificate.`,
  ],
  [
    'ERR_TLS_CERT_ALTNAME_INVALID',
    (cert, account) =>
      `The certificate names ${cert.names.join(', ') || cert.subject}, not ${account.tls.servername ?? account.host}. Connect by one of those names, or set "tls": { "servername": "..." } when connecting by IP address.`,
  ],
]);

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
export async function handshake(
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
        reject(new HandshakeTimeoutError(timeoutMs));
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
      errorMessage(error),
    );
    return fail({
      name,
      summary: plainText
        ? `${where} answered in plain text, not TLS`
        : `the TLS handshake with ${where} failed (${code}: ${errorMessage(error)})`,
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
  const anchor = SELF_SIGNED.has(code) ? trustAnchorOf(socket.getPeerCertificate(true)) : undefined;
  socket.destroy();
  if (!authorized) {
    const fix = CERTIFICATE_FIXES.get(code);
    return fail({
      name,
      summary: `the certificate of ${where} is not valid (${code}): subject ${cert.subject}, issuer ${cert.issuer}, valid ${cert.validFrom} to ${cert.validTo}`,
      fix: fix
        ? fix(cert, account)
        : 'Fix the server certificate, or add its CA with "tls": { "ca": "ca.pem" }.',
      // The certificate a user may choose to trust (idlehook init offers it): the presented chain's self-signed top.
      details: { code, certificate: cert, ...(anchor ? { trustAnchor: anchor } : {}) },
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

/** Verification failures whose presented chain ends in a self-signed certificate a user could decide to trust. */
const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

/** A certificate offered for trust: its PEM, its SHA-256 fingerprint (to compare out of band) and its subject. */
export interface TrustAnchor {
  readonly pem: string;
  readonly sha256: string;
  readonly subject: string;
}

/** The top of the presented chain: the self-signed certificate (the leaf itself when the server's is self-signed). */
function trustAnchorOf(peer: DetailedPeerCertificate): TrustAnchor | undefined {
  let top = peer;
  const seen = new Set<string>();
  while (
    top.issuerCertificate &&
    !seen.has(top.fingerprint256) &&
    top.issuerCertificate.fingerprint256 !== top.fingerprint256
  ) {
    seen.add(top.fingerprint256);
    top = top.issuerCertificate;
  }
  if (!top.raw) return undefined;
  const base64 =
    top.raw
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n') ?? '';
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`,
    sha256: top.fingerprint256,
    subject: factsOf(top).subject,
  };
}

/** How long to wait for a greeting before asking a silent server what it is. */
const GREETING_PATIENCE_MS = 3_000;

/** The first bytes a silent server sends after a line of IMAP, or undefined if it stays silent. */
function firstAnswerTo(socket: Socket, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.off('data', finish);
      socket.off('error', onError);
      resolve(answer);
    };
    const onError = () => finish(undefined);
    socket.once('data', finish);
    socket.once('error', onError);
    socket.write('A0 CAPABILITY\r\n');
  });
}

/** What a non-IMAP answer is, where it can be told: TLS records, an HTTP status line, SSH, SMTP/FTP/POP3 banners. */
function protocolOf(answer: Buffer | undefined): string | undefined {
  if (!answer || answer.length === 0) return undefined;
  // A TLS record: handshake (22) or alert (21), version 3.x.
  if ((answer[0] === 0x15 || answer[0] === 0x16) && answer[1] === 0x03) return 'TLS';
  const text = answer.toString('latin1');
  if (/^HTTP\/\d/.test(text)) return 'HTTP (a web server)';
  if (text.startsWith('SSH-')) return 'SSH';
  if (/^\+OK/.test(text)) return 'POP3';
  if (/^220[ -]/.test(text)) return 'SMTP or FTP';
  return undefined;
}

/** STARTTLS: the greeting, the STARTTLS offer, then the upgrade (never a plain-text login); plain text: the greeting. */
export async function checkPlainGreeting(
  account: AccountConfig,
  socket: Socket,
  timeoutMs: number,
  steps: DoctorStep[],
): Promise<void> {
  const where = `${account.host}:${account.port}`;
  // Plain text has no STARTTLS step: the greeting is all there is to check before the login.
  const step = account.security === 'none' ? 'greeting' : 'starttls';
  // Servers greet at once; one that has said nothing after a few seconds gets a line of IMAP, which makes a
  // silent server (TLS, HTTP) say what it speaks and a slow IMAP server greet all the same.
  const patience = Math.min(timeoutMs, GREETING_PATIENCE_MS);
  const early = await readUntil(socket, () => true, patience);
  const first = early
    ? Buffer.from(`${early[0]}\n`, 'latin1')
    : await firstAnswerTo(socket, timeoutMs - patience);
  if (!first || !/^\* (OK|PREAUTH)/i.test(first.toString('latin1'))) {
    socket.destroy();
    const speaks = protocolOf(first);
    return fail({
      name: step,
      summary: speaks
        ? `${where} speaks ${speaks}, not IMAP`
        : first
          ? `${where} did not greet like an IMAP server`
          : `${where} sent no IMAP greeting within ${timeoutMs / 1000} s`,
      fix:
        speaks === 'TLS' || !first
          ? `Port ${account.port} is probably an implicit-TLS port (usually 993): use "security": "tls" there.`
          : `Port ${account.port} is not an IMAP port: IMAP listens on 993 ("security": "tls") or 143 ("starttls"). Check the host and the port.`,
    });
  }
  if (account.security === 'none') {
    socket.destroy();
    steps.push({
      name: step,
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

class HandshakeTimeoutError extends IdlehookError {
  override readonly name = 'HandshakeTimeoutError';
  constructor(timeoutMs: number) {
    super('HANDSHAKE_TIMEOUT', true, `no TLS answer within ${timeoutMs / 1000} s`);
  }
}
