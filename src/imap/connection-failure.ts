import type { ConnectionFailureKind } from '../domain/retry.js';

/** An IMAP connection problem in our own terms, with a cause and a fix a person can act on. */
export class ImapConnectionError extends Error {
  /** Always retried; authentication failures only after a long wait (see reconnectDelayMs). */
  readonly retryable = true;

  constructor(
    readonly kind: ConnectionFailureKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImapConnectionError';
  }
}

const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface ForeignError {
  message?: string;
  code?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  serverResponseCode?: string;
  responseText?: string;
  mailboxMissing?: boolean;
}

/** Translates imapflow / Node socket errors into ImapConnectionError. */
export function classifyImapError(
  error: unknown,
  target: { host: string; port: number; user: string },
): ImapConnectionError {
  if (error instanceof ImapConnectionError) return error;
  const e = (error ?? {}) as ForeignError;
  const where = `${target.host}:${target.port}`;
  if (e.authenticationFailed) {
    const server = [e.serverResponseCode, e.responseText].filter(Boolean).join(' ');
    return new ImapConnectionError(
      'authentication',
      'AUTHENTICATION_FAILED',
      `${where} rejected the login for ${target.user}${server ? ` (${server})` : ''}: check the user name and password ` +
        '(some providers need an app password or OAuth2). Retries are spaced minutes apart so the account is not locked.',
    );
  }
  if (e.tlsFailed) {
    return new ImapConnectionError(
      'network',
      'STARTTLS_UNAVAILABLE',
      `${where} does not offer STARTTLS; refusing to continue in plain text. Use "security": "tls" with port 993 if the server supports it.`,
    );
  }
  if (e.mailboxMissing) {
    return new ImapConnectionError(
      'network',
      'MAILBOX_NOT_FOUND',
      `mailbox does not exist on ${where}: ${e.message}`,
    );
  }
  const code = e.code ?? 'UNKNOWN';
  if (code === 'ECONNREFUSED') {
    return new ImapConnectionError(
      'network',
      code,
      `connection refused by ${where}: nothing listens on that port. Check host and port (993 for TLS, 143 for STARTTLS).`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ImapConnectionError(
      'network',
      code,
      `cannot resolve ${target.host} (${code}): check the host name and DNS.`,
    );
  }
  if (code === 'ETIMEDOUT' || code === 'CONNECT_TIMEOUT' || code === 'GREETING_TIMEOUT') {
    return new ImapConnectionError(
      'network',
      code,
      `no answer from ${where} (${code}): a firewall may drop the traffic, or the port is wrong.`,
    );
  }
  if (CERTIFICATE_CODES.has(code)) {
    return new ImapConnectionError(
      'network',
      code,
      `the TLS certificate of ${where} is not trusted (${code}): fix the server certificate, or add its CA with "tls": { "ca": "ca.pem" }.`,
    );
  }
  if (
    code === 'EPROTO' ||
    /wrong version number|packet length too long|unknown protocol/i.test(e.message ?? '')
  ) {
    return new ImapConnectionError(
      'network',
      'TLS_MISMATCH',
      `TLS handshake with ${where} failed: the port may expect plain text/STARTTLS (try "security": "starttls", port 143) rather than implicit TLS.`,
    );
  }
  return new ImapConnectionError('network', code, `${where}: ${e.message ?? String(error)}`);
}
