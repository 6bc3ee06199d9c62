import { createHash } from 'node:crypto';
import type { EventType } from './event-types.js';

/** What every subscriber receives: the Standard Webhooks envelope. */
export interface WebhookEvent<Data = Record<string, unknown>> {
  /** The `webhook-id`: stable across retries and re-emission, so receivers can deduplicate. */
  readonly id: string;
  readonly type: EventType;
  readonly timestamp: string;
  /** `account` is absent only from events about idlehook itself (endpoint.disabled). */
  readonly data: Data & { readonly account?: string };
}

/** Identifies one message forever: RFC 9051 guarantees a (UIDVALIDITY, UID) pair never names another message. */
export interface MessageCoordinates {
  readonly account: string;
  readonly mailbox: string;
  readonly uidValidity: string;
  readonly uid: number;
}

function digest(parts: readonly (string | number)[]): string {
  // NUL cannot occur in account ids or IMAP mailbox names, so joined parts cannot collide.
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** Derived, not random: a crash that re-emits the same message yields the same webhook-id. */
export function messageEventId(type: EventType, message: MessageCoordinates): string {
  return `evt_${digest([type, message.account, message.mailbox, message.uidValidity, message.uid])}`;
}

/** A flag change is identified by the MODSEQ it got (RFC 7162): each change of a message has its own. */
export function flagsChangedEventId(message: MessageCoordinates, modseq: string): string {
  return `evt_${digest(['message.flags_changed', message.account, message.mailbox, message.uidValidity, message.uid, modseq])}`;
}

/** A folder change, identified by what changed: the same listing seen twice announces it once. */
export function folderEventId(
  type: EventType,
  account: string,
  paths: readonly string[],
  uidValidity: string | null,
): string {
  return `evt_${digest([type, account, ...paths, uidValidity ?? ''])}`;
}

export function mailboxResetEventId(account: string, mailbox: string, uidValidity: string): string {
  return `evt_${digest(['mailbox.reset', account, mailbox, uidValidity])}`;
}

/** One id per failure episode: the same failure repeated is one event; a new episode after recovery is another. */
export function accountErrorEventId(account: string, episodeStartedAt: string, code: string): string {
  return `evt_${digest(['account.error', account, episodeStartedAt, code])}`;
}

/** One announcement per failing period (or per 410 answer), however often the disabling is retried. */
export function endpointDisabledEventId(subscriptionId: string, episode: string | number): string {
  return `evt_${digest(['endpoint.disabled', subscriptionId, episode])}`;
}

export function serializeEvent(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}
