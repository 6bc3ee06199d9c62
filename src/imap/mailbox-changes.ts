import type { ImapFlow } from 'imapflow';
import { type MessageCoordinates, messageDeletedEvent, messageFlagsChangedEvent } from '../domain/events.js';
import { eventRecord, type IngestRecord } from '../pipeline/records.js';
import type { OutgoingMessage } from '../ports/pipeline.js';

export interface ChangesSince {
  readonly account: string;
  readonly mailbox: string;
  readonly uidValidity: string;
  /** Every UID up to here has been announced: changes are looked for among these. */
  readonly lastUid: number;
  /** The HIGHESTMODSEQ the last announced changes reached. */
  readonly modseq: string;
  /**
   * HIGHESTMODSEQ read (STATUS) before this look, where expunges were seen: an expunge raises it, yet neither a
   * live VANISHED nor a VANISHED (EARLIER) says to what, and SELECT's value is stale by then.
   */
  readonly highestModseqBefore?: string;
  /** Messages announced in this same sync (as new, or as changed), with the MODSEQ they were announced at. */
  readonly justAnnounced: ReadonlyMap<number, string | null>;
  readonly detectedAt: string;
}

export interface Changes {
  readonly records: OutgoingMessage<IngestRecord>[];
  /** The HIGHESTMODSEQ these records bring the mailbox's cursor to. */
  readonly modseq: string;
  /** The messages announced as changed, with their MODSEQ. */
  readonly announced: ReadonlyMap<number, string>;
}

/**
 * A message's flags as every client sees them: \Recent is dropped, since it belongs to one session (and is gone
 * from IMAP4rev2, RFC 9051): the bridge's own session would otherwise decide what a receiver sees.
 */
export function sharedFlags(flags: Iterable<string> | undefined): string[] {
  return [...(flags ?? [])].filter((flag) => flag.toLowerCase() !== '\\recent');
}

/** The `message.deleted` event for one UID, however the deletion was found. */
export function messageDeleted(
  message: MessageCoordinates,
  detectedBy: 'vanished' | 'uid-comparison',
  detectedAt: string,
): OutgoingMessage<IngestRecord> {
  return eventRecord(messageDeletedEvent(message, detectedBy, detectedAt));
}

/** The highest of the MODSEQs given ('0' for none). */
export function maxModseq(values: readonly (string | null | undefined)[]): string {
  return values
    .filter((v): v is string => typeof v === 'string')
    .reduce((max, v) => (BigInt(v) > BigInt(max) ? v : max), '0');
}

/**
 * Flag changes and deletions among the announced messages since the cursor's MODSEQ, in one round trip:
 * `UID FETCH 1:<last> (FLAGS) (CHANGEDSINCE <modseq> VANISHED)` (RFC 7162). With QRESYNC the server adds
 * `VANISHED (EARLIER)` for what was expunged meanwhile. imapflow reports those, like the live `VANISHED` of an
 * idle connection, as `expunge` events; `takeVanished` hands over the UIDs collected from them. With CONDSTORE
 * alone only flag changes come back.
 */
export async function changesSince(
  client: ImapFlow,
  since: ChangesSince,
  takeVanished: () => ReadonlySet<number>,
): Promise<Changes> {
  const startModseq =
    since.highestModseqBefore ?? (client.mailbox ? client.mailbox.highestModseq?.toString() : undefined);
  const changed: { uid: number; flags: string[]; modseq: string }[] = [];
  if (since.lastUid > 0) {
    for await (const message of client.fetch(
      `1:${since.lastUid}`,
      { uid: true, flags: true },
      { uid: true, changedSince: BigInt(since.modseq) },
    )) {
      if (message.uid > since.lastUid || message.modseq === undefined) continue;
      changed.push({
        uid: message.uid,
        flags: sharedFlags(message.flags),
        modseq: message.modseq.toString(),
      });
    }
  }
  const vanished = new Set([...takeVanished()].filter((uid) => uid <= since.lastUid));
  const coordinates = (uid: number): MessageCoordinates => ({
    account: since.account,
    mailbox: since.mailbox,
    uidValidity: since.uidValidity,
    uid,
  });
  const records: OutgoingMessage<IngestRecord>[] = [];
  const announced = new Map<number, string>();
  for (const message of changed.sort((a, b) => a.uid - b.uid)) {
    // A message announced moments ago shows up as changed (its MODSEQ is new): not a change unless it moved on.
    if (vanished.has(message.uid) || since.justAnnounced.get(message.uid) === message.modseq) continue;
    const { flags, modseq } = message;
    announced.set(message.uid, modseq);
    records.push(
      eventRecord(messageFlagsChangedEvent(coordinates(message.uid), { flags, modseq }, since.detectedAt)),
    );
  }
  for (const uid of [...vanished].sort((a, b) => a - b)) {
    records.push(messageDeleted(coordinates(uid), 'vanished', since.detectedAt));
  }
  const modseq = maxModseq([
    since.modseq,
    startModseq,
    ...changed.map((m) => m.modseq),
    ...since.justAnnounced.values(),
  ]);
  return { records, modseq, announced };
}
