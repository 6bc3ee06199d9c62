import type { MailboxOwnership } from '../ports/watcher.js';
/** A single process owns every mailbox (local mode). */
export const ownsEverything: MailboxOwnership = { owned: async (accountIds) => accountIds };
