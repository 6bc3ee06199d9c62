import { type ErrorCause, IdlehookError } from '../domain/errors.js';
import type { ConnectionFailureKind } from '../domain/retry.js';

/** An IMAP connection problem in our own terms, with a cause and a fix a person can act on. */
export class ImapConnectionError extends IdlehookError {
  override readonly name = 'ImapConnectionError';
  /** Always retried; authentication failures only after a long wait (see reconnectDelayMs). */
  constructor(
    readonly kind: ConnectionFailureKind,
    code: string,
    message: string,
    options: ErrorCause & {
      /** How long the server asked us to wait (Microsoft 365's "Suggested Backoff Time"). */
      readonly retryAfterMs?: number;
    } = {},
  ) {
    super(code, true, message, options);
    this.retryAfterMs = options.retryAfterMs;
  }

  readonly retryAfterMs: number | undefined;
}

/** A command got no answer before our deadline: the connection is presumed dead. */
export class ServerSilentError extends IdlehookError {
  override readonly name = 'ServerSilentError';
  constructor(overdueMs: number) {
    super('SERVER_SILENT', true, `the server did not answer for ${Math.round(overdueMs / 1000)} s`);
  }
}

/** The server (or the network) closed a connection we still needed. */
export class ConnectionClosedError extends IdlehookError {
  override readonly name = 'ConnectionClosedError';
  constructor() {
    super('CONNECTION_CLOSED', true, 'the server closed the connection');
  }
}

/** The selected mailbox was recreated (or removed) under us: the session restarts and re-baselines. */
export class UidValidityChangedError extends IdlehookError {
  override readonly name = 'UidValidityChangedError';
  constructor(mailbox: string) {
    super('UIDVALIDITY_CHANGED', true, `UIDVALIDITY of ${mailbox} changed or it disappeared while selected`);
  }
}

export interface LoginRejection {
  readonly summary: string;
  readonly fix: string;
}

const LOGIN_CAUSES: readonly (LoginRejection & { readonly pattern: RegExp })[] = [
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
    // Gmail: "NO [ALERT] Too many simultaneous connections. (Failure)" at login, 15 per account
    // (support.google.com/mail/answer/97150; MailKit #377, libetpan #160).
    pattern: /too many (simultaneous |concurrent )?connections|maximum number of connections/i,
    summary: 'the provider refuses more simultaneous connections to this account',
    fix: 'Lower the account’s connectionLimit (Gmail allows 15 per account, shared with phones and mail clients) or close other clients’ connections.',
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

const WRONG_CREDENTIALS: LoginRejection = {
  summary: 'wrong user name or password',
  fix:
    'Check the user name (often the full address) and the password. Some providers (Gmail, iCloud, Yahoo, ' +
    'Outlook with security defaults) need an app password or OAuth2.',
};

/** Why a server rejected a login, read from what it said; the bridge's account.error and the doctor both use it. */
export function explainLoginRejection(serverResponse: string): LoginRejection {
  return LOGIN_CAUSES.find((cause) => cause.pattern.test(serverResponse)) ?? WRONG_CREDENTIALS;
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
  /** imapflow's text of a command that failed inside connect() (NAMESPACE, ENABLE, ...). */
  response?: string;
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
  // Before the login check: imapflow marks it a failed authentication when it comes in the connect sequence.
  if (OUTLOOK_NOT_CONNECTED.test([e.responseText, e.response, e.message].join(' '))) {
    return new ImapConnectionError(
      'authentication',
      'AUTHENTICATED_NOT_CONNECTED',
      `${where} accepted the login for ${target.user} but refuses its mailbox ("User is authenticated but not connected"). ` +
        'Microsoft 365 answers so to a wrong password it let through at login, to an OAuth2 token without the ' +
        'IMAP.AccessAsUser.All scope or for another user, and to a shared mailbox not addressed as user@domain\\alias. ' +
        'Check the password or the token’s scope and user. Retries are spaced minutes apart so the account is not locked.',
      { cause: error },
    );
  }
  if (e.authenticationFailed) {
    const server = serverSaid(e);
    const rejection = explainLoginRejection(server);
    return new ImapConnectionError(
      'authentication',
      'AUTHENTICATION_FAILED',
      `${where} rejected the login for ${target.user}: ${rejection.summary}${server ? ` (server said: ${server})` : ''}. ` +
        `${rejection.fix} Retries are spaced minutes apart so the account is not locked.`,
      { cause: error },
    );
  }
  if (e.tlsFailed) {
    return new ImapConnectionError(
      'network',
      'STARTTLS_UNAVAILABLE',
      `${where} does not offer STARTTLS; refusing to continue in plain text. Use "security": "tls" with port 993 if the server supports it.`,
      { cause: error },
    );
  }
  if (e.mailboxMissing || isMailboxMissingAnswer(e)) {
    return new ImapConnectionError(
      'network',
      'MAILBOX_NOT_FOUND',
      `mailbox does not exist on ${where}: ${e.message}`,
      { cause: error },
    );
  }
  if (error instanceof IdlehookError && !isConnectionFault(error)) {
    return new ImapConnectionError('sync', error.code, `${where}: ${error.message}`, { cause: error });
  }
  const code = e.code ?? 'UNKNOWN';
  if (code === 'ECONNREFUSED') {
    return new ImapConnectionError(
      'network',
      code,
      `connection refused by ${where}: nothing listens on that port. Check host and port (993 for TLS, 143 for STARTTLS).`,
      { cause: error },
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ImapConnectionError(
      'network',
      code,
      `cannot resolve ${target.host} (${code}): check the host name and DNS.`,
      { cause: error },
    );
  }
  if (code === 'ETIMEDOUT' || code === 'CONNECT_TIMEOUT' || code === 'GREETING_TIMEOUT') {
    return new ImapConnectionError(
      'network',
      code,
      `no answer from ${where} (${code}): a firewall may drop the traffic, or the port is wrong.`,
      { cause: error },
    );
  }
  if (CERTIFICATE_CODES.has(code)) {
    return new ImapConnectionError(
      'network',
      code,
      `the TLS certificate of ${where} is not trusted (${code}): fix the server certificate, or add its CA with "tls": { "ca": "ca.pem" }.`,
      { cause: error },
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
      { cause: error },
    );
  }
  const throttled = throttleOf(e);
  if (throttled) {
    return new ImapConnectionError(
      'sync',
      'THROTTLED',
      `${where} is throttling this account (server said: ${throttled.said}); waiting before reconnecting.`,
      { cause: error, ...(throttled.retryAfterMs ? { retryAfterMs: throttled.retryAfterMs } : {}) },
    );
  }
  if (isConnectionFault(error)) {
    return new ImapConnectionError('network', code, `${where}: ${e.message ?? String(error)}`, {
      cause: error,
    });
  }
  // Logged in, then something the session could not work with: a NO or BAD, an answer it cannot parse, a local
  // storage error, a bug. Not the network's fault, so not retried at the network's pace.
  const server = serverSaid(e);
  return new ImapConnectionError(
    'sync',
    e.code ?? 'SYNC_FAILED',
    `${where}: the session could not sync: ${e.message ?? String(error)}${server ? ` (server said: ${server})` : ''}`,
    { cause: error },
  );
}

/** What the server said with a refusal: its response code and text (a failure in connect() has only `response`). */
function serverSaid(e: ForeignError): string {
  return [e.serverResponseCode, e.responseText ?? e.response].filter(Boolean).join(' ');
}

/**
 * A command on the selected mailbox refused because the mailbox went away meanwhile: imapflow's NotFound, RFC
 * 5530's NONEXISTENT, or the words servers use without it (Cyrus 3.6 answers a UID FETCH after the folder was
 * deleted under the session with "NO Mailbox does not exist").
 */
function isMailboxMissingAnswer(e: ForeignError): boolean {
  // imapflow's STATUS confirms a refusal with LIST and says NotFound when the mailbox is not there.
  if (e.code === 'NotFound') return true;
  if (e.serverResponseCode?.toUpperCase() === 'NONEXISTENT') return true;
  return /mailbox (does not|doesn't) exist|no such mailbox/i.test(e.responseText ?? '');
}

/**
 * Microsoft 365 / Outlook.com answer every command after a successful login with this, most often because the
 * password was wrong (it passes LOGIN), the token lacks the IMAP scope, or a shared mailbox was addressed wrongly
 * (imapflow #314, MailKit #1494, imapsync's Office365 FAQ): an authentication problem, retried as one.
 */
const OUTLOOK_NOT_CONNECTED = /User is authenticated but not connected/i;

/**
 * A server that says it is throttling us: RFC 5530-style [THROTTLED] (Gmail, Yahoo), or Microsoft 365's
 * "Request is throttled. Suggested Backoff Time: 299961 milliseconds" (imap_tools #135, imapsync #198).
 */
function throttleOf(e: ForeignError): { readonly said: string; readonly retryAfterMs?: number } | undefined {
  const said = serverSaid(e);
  if (e.code !== 'ETHROTTLE' && !/THROTTLED|throttl/i.test(said)) return undefined;
  const suggested = /Suggested Backoff Time: (\d+) milliseconds/i.exec(said);
  return { said: said || 'throttled', ...(suggested ? { retryAfterMs: Number(suggested[1]) } : {}) };
}

/** imapflow's codes for a connection that is gone or timed out (its errors.js); errno codes start with E. */
const CONNECTION_CODES = new Set([
  'NoConnection',
  'EConnectionClosed',
  'StateLogout',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'UPGRADE_TIMEOUT',
  'ETIMEOUT',
]);

/**
 * Whether the connection itself failed (reset, closed, timed out, a TLS failure, our own liveness deadline) as
 * opposed to the server answering something the session could not use.
 */
export function isConnectionFault(error: unknown): boolean {
  if (
    error instanceof ConnectionClosedError ||
    error instanceof ServerSilentError ||
    error instanceof UidValidityChangedError
  )
    return true;
  if (error instanceof ImapConnectionError) return error.kind === 'network';
  if (error instanceof IdlehookError) return false;
  const code = (error as ForeignError | undefined)?.code;
  if (typeof code !== 'string') return false;
  return (
    CONNECTION_CODES.has(code) ||
    CERTIFICATE_CODES.has(code) ||
    // errno codes; imapflow's ETHROTTLE is the server asking us to slow down, not a broken connection
    (/^E[A-Z]+$/.test(code) && code !== 'ETHROTTLE') ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL')
  );
}
