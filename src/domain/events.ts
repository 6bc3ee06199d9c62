import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { EVENT_SCHEMAS, EventType } from './event-schemas.js';
import type { FolderChange } from './folder-tree.js';

type Immutable<T> = T extends readonly (infer Item)[]
  ? readonly Immutable<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: Immutable<T[Key]> }
    : T;

/** The `data` of one event type, as its schema in event-schemas.ts defines it. */
export type EventData<Type extends EventType> = Immutable<z.output<(typeof EVENT_SCHEMAS)[Type]>['data']>;

/** What every subscriber receives: the Standard Webhooks envelope, one per event type (a union for a union). */
export type EventOf<Type extends EventType> = Type extends EventType
  ? {
      /** The `webhook-id`: stable across retries and re-emission, so receivers can deduplicate. */
      readonly id: string;
      readonly type: Type;
      readonly timestamp: string;
      readonly data: EventData<Type>;
    }
  : never;

/** Any event, discriminated by `type`. */
export type WebhookEvent = EventOf<EventType>;

/** Identifies one message forever: RFC 9051 guarantees a (UIDVALIDITY, UID) pair never names another message. */
export interface MessageCoordinates {
  readonly account: string;
  readonly mailbox: string;
  readonly uidValidity: string;
  readonly uid: number;
}

function digest(parts: readonly (string | number)[]): string {
  // NUL cannot occur in account ids or IMAP mailbox names, so joined parts cannot collide.
  return `evt_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}

function event<Type extends EventType>(
  type: Type,
  id: string,
  timestamp: string,
  data: EventData<Type>,
): EventOf<Type> {
  // The compiler cannot see through the distributive EventOf inside a generic; the parameters pin it.
  return { id, type, timestamp, data } as EventOf<Type>;
}

/**
 * Derived, not random: a crash that re-emits the same message yields the same webhook-id. The watcher names a
 * new message with it before the parse stage builds its `message.received` event.
 */
export function messageEventId(
  type: 'message.received' | 'message.deleted',
  message: MessageCoordinates,
): string {
  return digest([type, message.account, message.mailbox, message.uidValidity, message.uid]);
}

/** The timestamp is when the watcher saw the message, so a re-parse yields a byte-identical body. */
export function messageReceivedEvent(
  arrival: { readonly eventId: string; readonly detectedAt: string },
  data: EventData<'message.received'>,
): EventOf<'message.received'> {
  return event('message.received', arrival.eventId, arrival.detectedAt, data);
}

/** A flag change is identified by the MODSEQ it got (RFC 7162): each change of a message has its own. */
export function messageFlagsChangedEvent(
  message: MessageCoordinates,
  change: { readonly flags: readonly string[]; readonly modseq: string },
  detectedAt: string,
): EventOf<'message.flags_changed'> {
  const { account, mailbox, uidValidity, uid } = message;
  const id = digest(['message.flags_changed', account, mailbox, uidValidity, uid, change.modseq]);
  return event('message.flags_changed', id, detectedAt, { account, mailbox, uidValidity, uid, ...change });
}

export function messageDeletedEvent(
  message: MessageCoordinates,
  detectedBy: EventData<'message.deleted'>['detectedBy'],
  detectedAt: string,
): EventOf<'message.deleted'> {
  const { account, mailbox, uidValidity, uid } = message;
  const id = messageEventId('message.deleted', message);
  return event('message.deleted', id, detectedAt, { account, mailbox, uidValidity, uid, detectedBy });
}

export function mailboxResetEvent(
  data: EventData<'mailbox.reset'>,
  detectedAt: string,
): EventOf<'mailbox.reset'> {
  const id = digest(['mailbox.reset', data.account, data.mailbox, data.uidValidity]);
  return event('mailbox.reset', id, detectedAt, data);
}

/** A folder change, identified by what changed: the same listing seen twice announces it once. */
export function folderChangedEvent(
  account: string,
  change: FolderChange,
  detectedAt: string,
): EventOf<'mailbox.created' | 'mailbox.deleted' | 'mailbox.renamed'> {
  if (change.kind === 'renamed') {
    const { from, to } = change;
    const id = digest(['mailbox.renamed', account, from.path, to.path, to.uidValidity ?? '']);
    return event('mailbox.renamed', id, detectedAt, {
      account,
      mailbox: to.path,
      previousMailbox: from.path,
      uidValidity: to.uidValidity,
      specialUse: to.specialUse,
    });
  }
  const type = change.kind === 'created' ? 'mailbox.created' : 'mailbox.deleted';
  const { folder } = change;
  const id = digest([type, account, folder.path, folder.uidValidity ?? '']);
  return event(type, id, detectedAt, {
    account,
    mailbox: folder.path,
    uidValidity: folder.uidValidity,
    specialUse: folder.specialUse,
  });
}

/** One id per failure episode: the same failure repeated is one event; a new episode after recovery is another. */
export function accountErrorEvent(
  data: EventData<'account.error'>,
  episodeStartedAt: string,
): EventOf<'account.error'> {
  const id = digest(['account.error', data.account, episodeStartedAt, data.code]);
  return event('account.error', id, episodeStartedAt, data);
}

/** One announcement per failing period (or per 410 answer), however often the disabling is retried. */
export function endpointDisabledEvent(
  data: EventData<'endpoint.disabled'>,
  episode: string | number,
): EventOf<'endpoint.disabled'> {
  const id = digest(['endpoint.disabled', data.subscriptionId, episode]);
  return event('endpoint.disabled', id, data.disabledAt, data);
}

/** The account and mailbox an event is about; events about idlehook itself (endpoint.disabled) have neither. */
export function eventScope(event: WebhookEvent): { readonly account?: string; readonly mailbox?: string } {
  const { data } = event;
  return {
    ...('account' in data ? { account: data.account } : {}),
    ...('mailbox' in data ? { mailbox: data.mailbox } : {}),
  };
}

export function serializeEvent(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}
