import type { ImapFlow, StatusObject } from 'imapflow';
import type { FolderEntry } from '../domain/folder-tree.js';

/** Reports an account's folder listing (done by one of its sessions) to whoever tracks the tree. */
export interface FolderReporter {
  /** Whether this session is the one that lists the account's folders, so one listing per account is made. */
  designated(): boolean;
  report(folders: readonly FolderEntry[]): Promise<void>;
}

export interface FolderListing {
  readonly folders: FolderEntry[];
  /**
   * Each listed folder's STATUS (UIDVALIDITY, UIDNEXT, MESSAGES, and HIGHESTMODSEQ under CONDSTORE), by path as
   * imapflow names it: what the periodic check of the selected mailbox would otherwise ask in a STATUS of its own.
   */
  readonly statusByPath: ReadonlyMap<string, StatusObject>;
}

/** One LIST with each folder's status (LIST-STATUS where offered, else STATUS per folder, by imapflow). */
export async function listFolders(client: ImapFlow): Promise<FolderListing> {
  // imapflow follows a LIST in which no folder came back subscribed with an LSUB, to learn subscriptions this
  // listing never uses: one round trip per account per check interval, for nothing. Its own latch (set where a
  // server rejects LSUB) turns that off for the connection; a version without the latch only costs the LSUB.
  (client as unknown as { skipLsub: boolean }).skipLsub = true;
  const listed = await client.list({
    statusQuery: {
      uidValidity: true,
      uidNext: true,
      messages: true,
      ...(client.enabled.has('CONDSTORE') ? { highestModseq: true } : {}),
    },
  });
  const statusByPath = new Map<string, StatusObject>();
  const folders = listed
    .map((m) => {
      const selectable = !m.flags.has('\\Noselect') && !m.flags.has('\\NonExistent');
      if (selectable && m.status) statusByPath.set(m.path, m.status);
      return {
        path: m.path,
        delimiter: m.delimiter ?? '',
        specialUse: m.specialUse ?? null,
        uidValidity: selectable ? (m.status?.uidValidity?.toString() ?? null) : null,
        selectable,
      };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
  return { folders, statusByPath };
}
