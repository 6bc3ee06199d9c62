/**
 * The partition keys (`pk`) of the state table, by who owns them. IAM scopes each role to its own partitions
 * with `dynamodb:LeadingKeys`, so a key prefix here and a grant in the construct must agree: both import this.
 */
export const TABLE_PARTITIONS = {
  /** Accounts: written by the CLI, read by the watcher. */
  accounts: 'ACCOUNTS',
  /** Subscriptions: written by the CLI, read by parse and deliver. */
  subscriptions: 'SUBSCRIPTIONS',
  /** Per mailbox: cursor and UID gaps (watcher). */
  mailbox: 'MAILBOX#',
  /** Per account: the folder tree (watcher). */
  account: 'ACCOUNT#',
  /** Per event: delivery outcomes and dead letters (deliver). */
  event: 'EVENT#',
  /** Per subscription: endpoint health (deliver). */
  subscriptionStatus: 'SUBSCRIPTION#',
  /** Per subscription: the attempt log (deliver). */
  attempts: 'ATTEMPTS#',
  /** Per subscription and second: the rate-limit counter (deliver). */
  rate: 'RATE#',
} as const;

/** The dead-letter index's partition (gsi1pk), queried by the CLI. */
export const DEAD_LETTER_INDEX_PARTITION = 'DEADLETTER';

/** Which partitions each deployed component reads and writes (its IAM grant). */
export const PARTITIONS_BY_COMPONENT = {
  watcher: {
    read: [TABLE_PARTITIONS.accounts, `${TABLE_PARTITIONS.mailbox}*`, `${TABLE_PARTITIONS.account}*`],
    write: [`${TABLE_PARTITIONS.mailbox}*`, `${TABLE_PARTITIONS.account}*`],
  },
  parse: { read: [TABLE_PARTITIONS.subscriptions], write: [] },
  deliver: {
    read: [
      TABLE_PARTITIONS.subscriptions,
      `${TABLE_PARTITIONS.event}*`,
      `${TABLE_PARTITIONS.subscriptionStatus}*`,
      `${TABLE_PARTITIONS.attempts}*`,
      `${TABLE_PARTITIONS.rate}*`,
    ],
    write: [
      `${TABLE_PARTITIONS.event}*`,
      `${TABLE_PARTITIONS.subscriptionStatus}*`,
      `${TABLE_PARTITIONS.attempts}*`,
      `${TABLE_PARTITIONS.rate}*`,
    ],
  },
} as const;
