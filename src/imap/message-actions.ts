import type { ImapFlow } from 'imapflow';
import { errorMessage } from '../domain/errors.js';
import type { MessageCoordinates, WebhookEvent } from '../domain/events.js';
import type { ActionOutcome, CausedBy, MessageAction } from '../domain/message-actions.js';
import type { IngestRecord } from '../pipeline/records.js';
import type { OutgoingMessage } from '../ports/pipeline.js';
import type { Clock } from '../ports/services.js';

/** How long an action's answer is kept for a retry with the same request id. */
const ANSWERS_KEPT_MS = 10 * 60_000;

const messageKey = (m: MessageCoordinates) =>
  `${m.account}\u0000${m.mailbox}\u0000${m.uidValidity}\u0000${m.uid}`;

/**
 * Runs one action on a connection of the account: selects the mailbox read-write, and acts only if the reference
 * still names the message (same UIDVALIDITY, the UID still there).
 */
export async function runMessageAction(
  client: ImapFlow,
  message: MessageCoordinates,
  action: MessageAction,
  requestId: string,
): Promise<ActionOutcome> {
  let lock: Awaited<ReturnType<ImapFlow['getMailboxLock']>>;
  try {
    lock = await client.getMailboxLock(message.mailbox, { readOnly: false });
  } catch (error) {
    // The server's NO to SELECT: the folder is gone (deleted or renamed), and the message with it.
    if ((error as { responseStatus?: string }).responseStatus !== 'NO') throw error;
    return { kind: 'gone', detail: `${message.mailbox} cannot be opened any more: ${errorMessage(error)}` };
  }
  try {
    const uidValidity = client.mailbox ? client.mailbox.uidValidity.toString() : undefined;
    if (uidValidity !== message.uidValidity)
      return {
        kind: 'stale',
        detail: `${message.mailbox} has UIDVALIDITY ${uidValidity} now, not ${message.uidValidity}: its UIDs name other messages, so nothing was done`,
      };
    const uid = String(message.uid);
    if (!(await client.fetchOne(uid, { uid: true }, { uid: true })))
      return { kind: 'gone', detail: `no message has UID ${uid} in ${message.mailbox} any more` };
    const done: ActionOutcome = { kind: 'done', requestId };
    const refused = (what: string): ActionOutcome => ({
      kind: 'refused',
      detail: `the server refused to ${what}`,
    });
    // Without UIDPLUS an EXPUNGE removes every message marked \Deleted, not only this one.
    const expungesOneOnly = client.capabilities.has('UIDPLUS');
    switch (action.type) {
      case 'mark-seen':
        return (await client.messageFlagsAdd(uid, ['\\Seen'], { uid: true })) ? done : refused('set \\Seen');
      case 'add-flags':
        return (await client.messageFlagsAdd(uid, [...action.flags], { uid: true }))
          ? done
          : refused('add the flags');
      case 'remove-flags':
        return (await client.messageFlagsRemove(uid, [...action.flags], { uid: true }))
          ? done
          : refused('remove the flags');
      case 'delete':
        if (!expungesOneOnly) return withoutUidPlus('delete');
        return (await client.messageDelete(uid, { uid: true })) ? done : refused('delete the message');
      case 'move': {
        if (!client.capabilities.has('MOVE') && !expungesOneOnly) return withoutUidPlus('move');
        await createUnlessPresent(client, action.to);
        const moved = await client.messageMove(uid, action.to, { uid: true });
        if (!moved) return refused(`move the message to ${action.to}`);
        return {
          ...done,
          movedTo: {
            mailbox: action.to,
            uidValidity: moved.uidValidity?.toString() ?? null,
            uid: moved.uidMap?.get(message.uid) ?? null,
          },
        };
      }
    }
  } finally {
    lock.release();
  }
}

function withoutUidPlus(what: string): ActionOutcome {
  return {
    kind: 'refused',
    detail: `the server has neither MOVE nor UIDPLUS: to ${what} a message idlehook would have to EXPUNGE every message marked \\Deleted in the folder, which it will not do`,
  };
}

async function createUnlessPresent(client: ImapFlow, path: string): Promise<void> {
  const listed = await client.list({ listOnly: true });
  if (listed.some((folder) => folder.path === path)) return;
  await client.mailboxCreate(path);
}

/**
 * The actions a watcher runs for the management API: each answered once per request id (a retry gets the first
 * answer and acts no more), and the events they cause tagged with `causedBy` so that an application can ignore
 * its own echo.
 */
export class MessageActions {
  private readonly answers = new Map<
    string,
    { readonly outcome: Promise<ActionOutcome>; readonly until: number }
  >();
  private readonly echoes = new Map<string, { readonly cause: CausedBy; readonly until: number }>();

  constructor(
    private readonly clock: Clock,
    /** How long the watcher may take to see a change it caused: its sessions' check interval, twice. */
    private readonly echoWithinMs: number,
  ) {}

  act(
    message: MessageCoordinates,
    action: MessageAction,
    requestId: string,
    run: () => Promise<ActionOutcome>,
  ): Promise<ActionOutcome> {
    const now = this.clock.now();
    for (const [key, answer] of this.answers) if (answer.until <= now) this.answers.delete(key);
    for (const [key, echo] of this.echoes) if (echo.until <= now) this.echoes.delete(key);
    const answerKey = `${message.account}\u0000${requestId}`;
    const earlier = this.answers.get(answerKey);
    if (earlier) return earlier.outcome;
    // Noted before acting: the server may tell the watching connection before this one hears its answer.
    this.echoes.set(messageKey(message), {
      cause: { action: action.type, requestId },
      until: now + this.echoWithinMs,
    });
    const outcome = run().then(
      (result) => {
        if (result.kind !== 'done') this.echoes.delete(messageKey(message));
        return result;
      },
      (error: unknown) => {
        this.echoes.delete(messageKey(message));
        this.answers.delete(answerKey);
        throw error;
      },
    );
    this.answers.set(answerKey, { outcome, until: now + ANSWERS_KEPT_MS });
    return outcome;
  }

  /** The record with `causedBy` where an action of ours caused its event. */
  tag(record: OutgoingMessage<IngestRecord>): OutgoingMessage<IngestRecord> {
    if (record.body.kind !== 'event') return record;
    const { event } = record.body;
    if (event.type !== 'message.flags_changed' && event.type !== 'message.deleted') return record;
    const key = messageKey(event.data);
    const echo = this.echoes.get(key);
    if (!echo || echo.until <= this.clock.now()) return record;
    // A flag action causes one flag change; a move or delete its \Deleted flag, perhaps, then the deletion.
    const flagAction = echo.cause.action !== 'move' && echo.cause.action !== 'delete';
    if (event.type === 'message.deleted' || flagAction) this.echoes.delete(key);
    const causedBy = echo.cause;
    const tagged: WebhookEvent =
      event.type === 'message.deleted'
        ? { ...event, data: { ...event.data, causedBy } }
        : { ...event, data: { ...event.data, causedBy } };
    return { ...record, body: { kind: 'event', event: tagged } };
  }
}
