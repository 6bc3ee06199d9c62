import { ImapFlow } from 'imapflow';
import type { DovecotServer } from './dovecot.js';

/** A second IMAP client that puts mail into Dovecot the way a delivery agent or another device would. */
export async function connectAppender(
  dovecot: DovecotServer,
  user: string,
  password: string,
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.plainPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: password },
    logger: false,
  });
  await client.connect();
  return client;
}

export function simpleMessage(subject: string, body = 'hello', extraHeaders = ''): string {
  return (
    `From: Alice Example <alice@example.com>\r\nTo: support@example.com\r\nSubject: ${subject}\r\n` +
    `Message-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@example.com>\r\n` +
    `Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n${extraHeaders}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`
  );
}
