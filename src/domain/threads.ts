import { createHash } from 'node:crypto';

/** What a conversation id is derived from: the message's own threading headers. */
export interface ThreadingHeaders {
  readonly account: string;
  /** The server's own conversation id, where it has one: it wins (it also groups a chain without headers). */
  readonly providerThreadId?: string | undefined;
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  readonly references: readonly string[];
  readonly subject: string | null;
}

/** Reply and forward prefixes mail clients add in the languages they ship ("Re:", "AW:", "Fwd:", "[2]"...). */
const REPLY_PREFIX = /^\s*((re|fwd?|aw|wg|sv|vs|tr|rv|antw|odp)\s*(\[\d+\])?\s*:\s*)+/i;

/** A header's first message id without its angle brackets (In-Reply-To may hold several, and comments). */
const bare = (id: string) => (/<([^<>]+)>/.exec(id)?.[1] ?? id).trim();

/**
 * A conversation's id, the same for every message of a reply chain whatever order they arrive in, without
 * state: the server's own thread id where it gives one (Gmail, servers with RFC 8474 THREADID); else the first id in `References` (RFC 5322 3.6.4: a reply lists its parent's references and then the
 * parent, so the first is the oldest ancestor the sender knew); without References, `In-Reply-To` (the parent);
 * a message with neither starts a conversation under its own `Message-ID`; a message with no id at all is
 * grouped by its account and its subject without reply prefixes (the documented fallback).
 * Limits (docs/events.md): a client that sends In-Reply-To but no References splits a chain longer than two; a
 * sender who trims References to the last few ids starts a new id at the trim.
 */
export function threadIdOf(message: ThreadingHeaders): string {
  const root = message.references.find((id) => bare(id) !== '') ?? message.inReplyTo ?? message.messageId;
  // The server's ids are per account (Gmail's differ between two accounts for one conversation).
  const parts = message.providerThreadId
    ? ['provider', message.account, message.providerThreadId]
    : root !== null && bare(root) !== ''
      ? ['message-id', bare(root)]
      : ['subject', message.account, (message.subject ?? '').replace(REPLY_PREFIX, '').trim().toLowerCase()];
  // NUL cannot occur in header values after unfolding, nor in account ids: joined parts cannot collide.
  return `thr_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}
