/** One folder of an account, as LIST (with STATUS UIDVALIDITY) shows it. */
export interface FolderEntry {
  readonly path: string;
  readonly delimiter: string;
  /** RFC 6154 special use, e.g. "\\Sent", "\\Junk"; null for ordinary folders. */
  readonly specialUse: string | null;
  /** Null for folders that cannot be selected (\Noselect) or when the server did not say. */
  readonly uidValidity: string | null;
  readonly selectable: boolean;
}

export type FolderChange =
  | { readonly kind: 'created'; readonly folder: FolderEntry }
  | { readonly kind: 'deleted'; readonly folder: FolderEntry }
  | { readonly kind: 'renamed'; readonly from: FolderEntry; readonly to: FolderEntry };

/**
 * What changed between two listings. A folder that vanished and one that appeared with the same UIDVALIDITY
 * are one rename: servers keep a mailbox's UIDVALIDITY when it is renamed, and a new mailbox gets a new one.
 */
export function diffFolderTrees(
  before: readonly FolderEntry[],
  after: readonly FolderEntry[],
): FolderChange[] {
  const beforePaths = new Set(before.map((f) => f.path));
  const afterPaths = new Set(after.map((f) => f.path));
  const gone = before.filter((f) => !afterPaths.has(f.path));
  const added = after.filter((f) => !beforePaths.has(f.path));
  const changes: FolderChange[] = [];
  const renamedTo = new Set<string>();
  // UIDVALIDITY is unique per name, not across names: Cyrus derives it from the clock, so folders made in the same
  // second share one. Only a one-to-one match is a rename; anything else is told as it is, deleted and created.
  const count = (folders: readonly FolderEntry[], uidValidity: string) =>
    folders.filter((f) => f.uidValidity === uidValidity).length;
  for (const from of gone) {
    const unique =
      from.uidValidity !== null &&
      count(gone, from.uidValidity) === 1 &&
      count(added, from.uidValidity) === 1;
    const to = unique ? added.find((f) => f.uidValidity === from.uidValidity) : undefined;
    if (to) {
      renamedTo.add(to.path);
      changes.push({ kind: 'renamed', from, to });
    } else {
      changes.push({ kind: 'deleted', folder: from });
    }
  }
  for (const folder of added) if (!renamedTo.has(folder.path)) changes.push({ kind: 'created', folder });
  return changes;
}

const isSpecialUse = (pattern: string) => pattern.startsWith('\\');

/** Whether a watched-mailboxes entry is a pattern (`*`, `%` wildcards or a special use) rather than one name. */
export function isMailboxPattern(pattern: string): boolean {
  return isSpecialUse(pattern) || /[*%]/.test(pattern);
}

function matches(pattern: string, folder: FolderEntry): boolean {
  if (isSpecialUse(pattern)) return folder.specialUse?.toLowerCase() === pattern.toLowerCase();
  if (!isMailboxPattern(pattern)) {
    return (
      pattern === folder.path || (pattern.toUpperCase() === 'INBOX' && folder.path.toUpperCase() === 'INBOX')
    );
  }
  // IMAP LIST wildcards (RFC 9051 6.3.9): "*" matches anything, "%" anything but the hierarchy delimiter.
  const delimiter = folder.delimiter ? folder.delimiter.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&') : '';
  const source = pattern
    .split('')
    .map((c) =>
      c === '*'
        ? '.*'
        : c === '%'
          ? delimiter
            ? `[^${delimiter}]*`
            : '.*'
          : c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`).test(folder.path);
}

const VIRTUAL_SPECIAL_USES = new Set(['\\all', '\\flagged', '\\important']);

function isVirtualFolder(folder: FolderEntry): boolean {
  return folder.specialUse !== null && VIRTUAL_SPECIAL_USES.has(folder.specialUse.toLowerCase());
}

/**
 * Whether resolving these entries needs the account's folder listing: for patterns, and for exact names that
 * differ only in case (on a case-insensitive server, Support and support are one mailbox).
 */
export function needsFolderListing(patterns: readonly string[]): boolean {
  const exact = patterns.filter((p) => !isMailboxPattern(p));
  return patterns.length > exact.length || new Set(exact.map((p) => p.toLowerCase())).size < exact.length;
}

/**
 * An exact name as the server spells it: the folder of that name, else the one folder that matches it but for
 * case (the server then folds case: two spellings, two cursors and two webhook ids for one mail otherwise).
 */
function serverSpelling(name: string, tree: readonly FolderEntry[] | undefined): string {
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  if (!tree || tree.some((f) => f.path === name)) return name;
  const folded = tree.filter((f) => f.path.toLowerCase() === name.toLowerCase());
  return folded.length === 1 && folded[0] ? folded[0].path : name;
}

/**
 * The mailboxes to watch: exact names as the server spells them (a missing one is then reported by its
 * session), and every selectable folder a pattern matches. INBOX comes first; each mailbox once.
 */
export function resolveMailboxes(
  patterns: readonly string[],
  tree: readonly FolderEntry[] | undefined,
): string[] {
  const resolved = new Set<string>();
  for (const pattern of patterns) {
    if (!isMailboxPattern(pattern)) {
      resolved.add(serverSpelling(pattern, tree));
      continue;
    }
    for (const folder of tree ?? []) {
      // A name wildcard skips the virtual folders (RFC 6154: \All, \Flagged; RFC 8457: \Important) that show
      // mail of other folders again, such as Gmail's [Gmail]/All Mail: "*" would announce every message twice.
      // Named, or asked for by special use ("\All"), they are watched.
      const virtual = !isSpecialUse(pattern) && isVirtualFolder(folder);
      if (folder.selectable && !virtual && matches(pattern, folder)) {
        resolved.add(folder.path.toUpperCase() === 'INBOX' ? 'INBOX' : folder.path);
      }
    }
  }
  return [...resolved].sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a.localeCompare(b)));
}
