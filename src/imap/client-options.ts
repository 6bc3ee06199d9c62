import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { ImapFlowOptions } from 'imapflow';
import type { AccountConfig } from '../config/config.js';

/** RFC 2177 allows 29 minutes, but NATs and real servers drop quiet connections sooner: re-issue IDLE often. */
const MAX_IDLE_MS = 4 * 60 * 1000;

/** What a login presents: the password, or an OAuth2 access token (imapflow then uses XOAUTH2/OAUTHBEARER). */
export type ImapCredentials = { readonly pass: string } | { readonly accessToken: string };

const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * One TLS context per extra CA, shared by every connection that trusts it. Built per connection, each context
 * copied the ~140 public roots as well: about 1.2 MB per connection, measured by bench:density.
 */
const contextsByCa = new Map<string, SecureContext>();
function secureContextTrusting(ca: string): SecureContext {
  let context = contextsByCa.get(ca);
  if (!context) {
    // A configured CA is added to the public roots, not substituted for them.
    context = createSecureContext({ ca: [...rootCertificates, ca], minVersion: MIN_TLS_VERSION });
    contextsByCa.set(ca, context);
  }
  return context;
}

export function imapClientOptions(account: AccountConfig, credentials: ImapCredentials): ImapFlowOptions {
  return {
    host: account.host,
    port: account.port,
    secure: account.security === 'tls',
    // true: STARTTLS is required and a server without it fails the connection (no silent plain text);
    // false: plain text, which the config allows only for loopback hosts or with allowInsecure.
    doSTARTTLS: account.security === 'starttls' ? true : account.security === 'none' ? false : undefined,
    servername: account.tls.servername,
    auth: { user: account.user, ...credentials },
    tls: {
      rejectUnauthorized: true,
      minVersion: MIN_TLS_VERSION,
      ...(account.tls.ca ? { secureContext: secureContextTrusting(account.tls.ca) } : {}),
    },
    logger: false,
    clientInfo: { name: 'idlehook' },
    maxIdleTime: MAX_IDLE_MS,
    // QRESYNC where offered: expunges then name UIDs (VANISHED), also for what happened while disconnected.
    qresync: true,
    // imapflow waits 15 s after a command before it re-enters IDLE; mail arriving in that window would wait
    // for the next command. The watcher holds a mailbox lock across its own command sequences, so IDLE can
    // start the moment the connection is free.
    autoIdleDelay: 0,
    // COMPRESS=DEFLATE keeps a zlib deflater and inflater per connection, paid for around the clock to save
    // bytes only while a message is fetched: bench:density measured 359 KiB per idle mailbox with it, 105 KiB
    // without, and 54 % more CPU while idle.
    disableCompression: true,
    // TCP keepalive is imapflow's own (5 s, then the kernel's probes a second apart): an idle connection on a cut
    // network fails in about 15 s. test/integration/network-cut.test.ts pulls a real cable to hold it to that.
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
  };
}
