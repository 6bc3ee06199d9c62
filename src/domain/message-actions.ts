import type { MessageCoordinates } from './events.js';

/**
 * What an application may do to a message it was told about: the first writes idlehook makes to a mailbox. Each is
 * idempotent on the server (a flag added twice is added once; a message moved or deleted is gone the second time).
 */
export type MessageAction =
  | { readonly type: 'mark-seen' }
  | { readonly type: 'add-flags'; readonly flags: readonly string[] }
  | { readonly type: 'remove-flags'; readonly flags: readonly string[] }
  /** To a folder, made when missing: MOVE where the server has it, else COPY, then \Deleted and UID EXPUNGE. */
  | { readonly type: 'move'; readonly to: string }
  /** \Deleted and UID EXPUNGE: this message only. */
  | { readonly type: 'delete' };

export type MessageActionType = MessageAction['type'];

/** What the events an action causes carry, so that an application can tell its own echo. */
export interface CausedBy {
  readonly action: MessageActionType;
  readonly requestId: string;
}

export type ActionOutcome =
  | { readonly kind: 'done'; readonly requestId: string; readonly movedTo?: MovedMessage }
  /** The mailbox's UIDVALIDITY is not the reference's: its UIDs now name other messages, so nothing was done. */
  | { readonly kind: 'stale'; readonly detail: string }
  /** No message has that UID any more (expunged, or moved). */
  | { readonly kind: 'gone'; readonly detail: string }
  /** The server cannot do it safely (no UIDPLUS to expunge one message only), or refused it. */
  | { readonly kind: 'refused'; readonly detail: string };

export interface MovedMessage {
  readonly mailbox: string;
  readonly uidValidity: string | null;
  readonly uid: number | null;
}

/**
 * A flag an action may set: a system flag other than \Recent (the server's own), or a keyword (an IMAP atom,
 * RFC 9051 section 9: no spaces, parentheses, braces, quotes, backslashes, `%`, `*` or `]`).
 */
export const SETTABLE_FLAG = /^(\\(Seen|Answered|Flagged|Deleted|Draft)|(?!.*[(){%*"\\\]])[!-~]{1,64})$/i;

/**
 * The actions to run on a message once every subscription that asked for some has its 2xx: every flag action, in
 * subscription id order, then the first move or delete (a message moves once; the others are named as skipped).
 */
export function combineAfterDelivery(
  asking: readonly { readonly id: string; readonly afterDelivery?: readonly MessageAction[] | undefined }[],
): { readonly actions: readonly MessageAction[]; readonly skipped: readonly string[] } {
  const ordered = [...asking].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const flagActions: MessageAction[] = [];
  const endings: { subscription: string; action: MessageAction }[] = [];
  for (const subscription of ordered)
    for (const action of subscription.afterDelivery ?? [])
      if (action.type === 'move' || action.type === 'delete')
        endings.push({ subscription: subscription.id, action });
      else flagActions.push(action);
  const [ending, ...others] = endings;
  return {
    actions: ending ? [...flagActions, ending.action] : flagActions,
    skipped: others.map((o) => `${o.subscription}: ${o.action.type}`),
  };
}

/** One action, with the request id the events it causes carry in `causedBy`. */
export interface ActionStep {
  readonly action: MessageAction;
  readonly requestId: string;
}

/**
 * Actions on one message, asked of the watcher task that holds its account (AWS mode): one from the management API,
 * or a subscription's after-delivery actions. They run in order; after one not done, the rest are skipped.
 */
export interface ActionCommand {
  /** Unique within the account: the API request's requestId, or `after_<eventId>`. */
  readonly id: string;
  readonly message: MessageCoordinates;
  readonly steps: readonly ActionStep[];
  /** How often a step is tried while its server cannot be reached: once for the API (its caller retries). */
  readonly tries: number;
  readonly filedAt: number;
}

/** What running actions came to: each step's outcome up to the first not done, and why, if it could not run. */
export interface StepsResult {
  readonly outcomes: readonly ActionOutcome[];
  /** The server could not be reached (or no connection was had) for the step after the last outcome. */
  readonly unreached?: string;
}

/** The command of one action asked through the management API: its id is the request's, so a retry is the same. */
export function requestCommand(
  message: MessageCoordinates,
  action: MessageAction,
  requestId: string,
  filedAt: number,
): ActionCommand {
  return { id: `request_${requestId}`, message, steps: [{ action, requestId }], tries: 1, filedAt };
}
