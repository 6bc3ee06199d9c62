import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { shardOf } from '../../domain/shard-leases.js';

/**
 * The state table, defined once: its keys, index and TTL attribute (the CDK construct and the emulator tests
 * build the table from these), the partitions each component owns (IAM grants), and every item's key. The
 * table in docs/deploying-to-aws.md ("DynamoDB table") is checked against STATE_TABLE_ITEMS by a test.
 */

export const TABLE_KEY = { partition: 'pk', sort: 'sk' } as const;
/** DynamoDB deletes items whose `expiresAt` (unix seconds) has passed. */
export const TTL_ATTRIBUTE = 'expiresAt';
/**
 * The sparse index that lists dead letters oldest first, written over WRITE_SHARDS keys (DEADLETTER#<0-15>, and
 * DEADLETTER alone for letters from before) and merged on read: an endpoint outage dead-letters faster than one
 * index key takes writes.
 */
export const DEAD_LETTER_INDEX = {
  name: 'gsi1',
  partitionKey: 'gsi1pk',
  sortKey: 'gsi1sk',
  partition: 'DEADLETTER',
  /**
   * What a listing shows, and all the index copies besides the keys. Not the body (up to 300 KB inline): copied
   * into the index, every dead letter would cost its body's size again in index writes, and every listing would
   * read every body it leaves out.
   */
  listedAttributes: ['eventType', 'reason', 'attempts', 'failedAt'],
} as const;

/**
 * The sparse index a watcher task reads one shard's accounts from (gsi2pk = ACCOUNTS#<shard>, gsi2sk = id): when
 * the shard's version item says it changed, not the whole account partition every refresh.
 */
export const ACCOUNT_SHARD_INDEX = {
  name: 'gsi2',
  partitionKey: 'gsi2pk',
  sortKey: 'gsi2sk',
  partitionPrefix: 'ACCOUNTS#',
} as const;

/**
 * Partitions that would grow with the product are written across this many keys (merged on read): DynamoDB serves
 * one partition key value at most 1,000 write units a second, which a mass reconnect reporting 100,000 accounts'
 * status, or an endpoint outage dead-lettering thousands of events a second, would exceed on one key.
 */
export const WRITE_SHARDS = 16;

/** Which of the WRITE_SHARDS keys an item goes under: a stable hash of what identifies it. */
export const writeShardOf = (identity: string): string => String(shardOf(identity, WRITE_SHARDS));

/** Every dead-letter index key a listing reads: the write shards, and the single key letters used before. */
export const DEAD_LETTER_INDEX_KEYS = [
  ...Array.from({ length: WRITE_SHARDS }, (_, shard) => `${DEAD_LETTER_INDEX.partition}#${shard}`),
  DEAD_LETTER_INDEX.partition,
];

/**
 * The partition keys (`pk`), by who owns them. IAM scopes each role to its own partitions with
 * `dynamodb:LeadingKeys`, so a key prefix here and a grant in the construct must agree: both import this.
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
  /**
   * Per shard of accounts, a version bumped by every account write there (the API, the CLI): watcher tasks poll
   * these 256 small items and re-read only the shards that changed.
   */
  accountVersions: 'ACCOUNT_VERSIONS',
  /**
   * Accounts' live status as the watcher holding each last reported it (written by the watcher, read by the API),
   * over WRITE_SHARDS keys: ACCOUNT_STATUS#<0-15>.
   */
  accountStatus: 'ACCOUNT_STATUS#',
  /**
   * Per watcher task, its tally of the accounts it holds (held, failing): written by the watcher when it changes and
   * every minute, read by the API's counts. One item per task, so one key serves any number of accounts.
   */
  statusTallies: 'STATUS_TALLIES',
  /** Per event: delivery outcomes and dead letters (deliver). */
  event: 'EVENT#',
  /** Per subscription: endpoint health (deliver). */
  subscriptionStatus: 'SUBSCRIPTION#',
  /** Per subscription: the attempt log (deliver). */
  attempts: 'ATTEMPTS#',
  /** Per subscription and second: the rate-limit counter (deliver). */
  rate: 'RATE#',
  /**
   * Per subscription, over WRITE_SHARDS keys (an outage schedules retries faster than one key takes): the
   * deliveries waiting for their next attempt, with the SQS receipt handle that hurries them (deliver; the API).
   */
  retrying: 'RETRYING#',
  /**
   * Per shard of accounts: message actions filed for the watcher task holding the shard (the API, deliver), with
   * what running them came to (the watcher). A day each.
   */
  actionCommands: 'COMMANDS#',
  /** Shard leases: which watcher holds which shard of the mailboxes (watcher). */
  leases: 'LEASES',
  /** Management API tokens, by the SHA-256 of the token (written by the CLI, read by the API). */
  apiTokens: 'API_TOKENS',
  /** Hosted connect flows under way, for 10 minutes each (the API, where the connect flow is configured). */
  connectFlow: 'CONNECT#',
  /** Per OAuth2 account: its tokens as last refreshed, sealed (the watcher; the API's doctor). */
  oauth2Tokens: 'OAUTH2#',
  /**
   * The key that seals credentials, as KMS ciphertext only (made by whichever seals first: the API, or a watcher
   * saving a rotated refresh token).
   */
  credentialKeys: 'CREDENTIAL_KEY',
} as const;

/**
 * The table calls a component makes, each with the partitions it makes them in: its IAM grant, one
 * (action, partition) pair per call site, so a role cannot do in one partition what it needs in another.
 * `QueryIndex` is a Query of the dead-letter index, by that index's partition.
 */
export interface TableCalls {
  readonly GetItem?: readonly string[];
  readonly BatchGetItem?: readonly string[];
  readonly Query?: readonly string[];
  readonly QueryIndex?: readonly string[];
  readonly PutItem?: readonly string[];
  readonly UpdateItem?: readonly string[];
  readonly DeleteItem?: readonly string[];
}

const { accounts, subscriptions, leases, apiTokens, credentialKeys, accountVersions, statusTallies } =
  TABLE_PARTITIONS;
const accountStatus = `${TABLE_PARTITIONS.accountStatus}*`;
const accountShards = `${ACCOUNT_SHARD_INDEX.partitionPrefix}*`;
const mailboxes = `${TABLE_PARTITIONS.mailbox}*`;
const folderTrees = `${TABLE_PARTITIONS.account}*`;
const events = `${TABLE_PARTITIONS.event}*`;
const endpointHealth = `${TABLE_PARTITIONS.subscriptionStatus}*`;
const attempts = `${TABLE_PARTITIONS.attempts}*`;
const rates = `${TABLE_PARTITIONS.rate}*`;
const oauth2Tokens = `${TABLE_PARTITIONS.oauth2Tokens}*`;
const retrying = `${TABLE_PARTITIONS.retrying}*`;
const actionCommands = `${TABLE_PARTITIONS.actionCommands}*`;

export const PARTITIONS_BY_COMPONENT = {
  /** Lists accounts and leases; keeps cursors, UID gaps and folder trees; reports account status. */
  watcher: {
    GetItem: [mailboxes, folderTrees, credentialKeys, oauth2Tokens],
    Query: [accounts, leases, accountVersions, actionCommands],
    QueryIndex: [accountShards],
    PutItem: [mailboxes, folderTrees, accountStatus, statusTallies, oauth2Tokens, credentialKeys],
    // Claiming an action command and storing its result.
    UpdateItem: [mailboxes, leases, actionCommands],
    // A stopping task takes its tally back.
    DeleteItem: [statusTallies],
  },
  /** Fan-out: who wants which events. */
  parse: { Query: [subscriptions] },
  deliver: {
    GetItem: [events, endpointHealth],
    Query: [subscriptions],
    // A retry scheduled is noted (PutItem); a retried delivery's note is removed once it is settled.
    // A subscription's after-delivery actions are filed as a command, and its shard's version item counts it.
    PutItem: [attempts, retrying, actionCommands],
    UpdateItem: [events, endpointHealth, rates, accountVersions],
    DeleteItem: [retrying],
  },
  /** The management API: accounts and subscriptions, their health, attempts and dead letters (replay). */
  api: {
    // A message action's result (actionCommands), waited for after filing it.
    GetItem: [
      accounts,
      subscriptions,
      accountStatus,
      events,
      endpointHealth,
      credentialKeys,
      oauth2Tokens,
      actionCommands,
    ],
    // The status of one page of accounts; which of the accounts a subscription names exist.
    BatchGetItem: [accountStatus, accounts],
    // The deliveries being retried (listed, and hurried through SQS); the account counts (the shards' versions
    // and the tasks' tallies).
    // ... and an account's action log (its commands).
    Query: [accounts, subscriptions, attempts, retrying, accountVersions, statusTallies, actionCommands],
    QueryIndex: [`${DEAD_LETTER_INDEX.partition}*`],
    PutItem: [accounts, subscriptions, attempts, credentialKeys, oauth2Tokens, actionCommands],
    // A token's lastUsedAt (verify) only: with PutItem there, a compromised API function could mint tokens.
    // An account write bumps its shard's version; a message action filed counts there.
    UpdateItem: [apiTokens, events, endpointHealth, accountVersions],
    // Removing accounts and subscriptions; enabling a subscription deletes its health item.
    DeleteItem: [accounts, subscriptions, endpointHealth],
  },
} as const satisfies Record<string, TableCalls>;

export interface TableKey {
  readonly pk: string;
  readonly sk: string;
}

/** The partition that holds one subscription's attempt log, newest last. */
export const attemptsPartition = (subscriptionId: string): string =>
  `${TABLE_PARTITIONS.attempts}${subscriptionId}`;

/** Every item's key. Parts are strings so that the documented placeholders go through the same code. */
export const TABLE_KEYS = {
  cursor: (account: string, mailbox: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.mailbox}${account}#${mailbox}`,
    sk: 'CURSOR',
  }),
  uidGaps: (account: string, mailbox: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.mailbox}${account}#${mailbox}`,
    sk: 'UIDGAPS',
  }),
  folderTree: (account: string): TableKey => ({ pk: `${TABLE_PARTITIONS.account}${account}`, sk: 'FOLDERS' }),
  outcome: (eventId: string, subscriptionId: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.event}${eventId}`,
    sk: `SUB#${subscriptionId}`,
  }),
  endpointHealth: (subscriptionId: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.subscriptionStatus}${subscriptionId}`,
    sk: 'STATUS',
  }),
  /** `attemptedAt` zero-padded, so that the sort key orders attempts by time. */
  attempt: (subscriptionId: string, attemptedAt: string, eventId: string, attempt: string): TableKey => ({
    pk: attemptsPartition(subscriptionId),
    sk: `${attemptedAt}#${eventId}#${attempt}`,
  }),
  rateWindow: (subscriptionId: string, unixSecond: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.rate}${subscriptionId}`,
    sk: unixSecond,
  }),
  retrying: (subscriptionId: string, eventId: string, writeShard = writeShardOf(eventId)): TableKey => ({
    pk: `${TABLE_PARTITIONS.retrying}${subscriptionId}#${writeShard}`,
    sk: eventId,
  }),
  account: (accountId: string): TableKey => ({ pk: TABLE_PARTITIONS.accounts, sk: accountId }),
  /** The shard number zero-padded, so that a query lists the versions in order. */
  accountVersion: (shard: string): TableKey => ({ pk: TABLE_PARTITIONS.accountVersions, sk: shard }),
  accountStatus: (accountId: string, writeShard = writeShardOf(accountId)): TableKey => ({
    pk: `${TABLE_PARTITIONS.accountStatus}${writeShard}`,
    sk: accountId,
  }),
  statusTally: (taskId: string): TableKey => ({ pk: TABLE_PARTITIONS.statusTallies, sk: taskId }),
  subscription: (subscriptionId: string): TableKey => ({
    pk: TABLE_PARTITIONS.subscriptions,
    sk: subscriptionId,
  }),
  /** Under the account's shard, zero-padded: the holder of the shard reads its commands. */
  actionCommand: (shard: string, account: string, id: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.actionCommands}${shard}`,
    sk: `${account}#${id}`,
  }),
  /** The shard number zero-padded, so that a query lists the shards in order. */
  lease: (shard: string): TableKey => ({ pk: TABLE_PARTITIONS.leases, sk: shard }),
  heartbeat: (worker: string): TableKey => ({ pk: TABLE_PARTITIONS.leases, sk: `WORKER#${worker}` }),
  shardCount: (): TableKey => ({ pk: TABLE_PARTITIONS.leases, sk: 'SHARD_COUNT' }),
  apiToken: (tokenHash: string): TableKey => ({ pk: TABLE_PARTITIONS.apiTokens, sk: tokenHash }),
  connectFlow: (id: string): TableKey => ({ pk: `${TABLE_PARTITIONS.connectFlow}${id}`, sk: 'FLOW' }),
  oauth2Tokens: (account: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.oauth2Tokens}${account}`,
    sk: 'TOKENS',
  }),
  credentialWrappingKey: (version: string): TableKey => ({
    pk: TABLE_PARTITIONS.credentialKeys,
    sk: version,
  }),
  connectLink: (signature: string): TableKey => ({
    pk: `${TABLE_PARTITIONS.connectFlow}${signature}`,
    sk: 'LINK',
  }),
} as const;

/** The documented table (docs/deploying-to-aws.md), row by row: each item's name and its key with placeholders. */
export const STATE_TABLE_ITEMS: readonly { readonly item: string; readonly key: TableKey }[] = [
  { item: 'mailbox cursor', key: TABLE_KEYS.cursor('<account>', '<mailbox>') },
  { item: 'UID gaps (servers without QRESYNC)', key: TABLE_KEYS.uidGaps('<account>', '<mailbox>') },
  { item: 'folder tree', key: TABLE_KEYS.folderTree('<account>') },
  { item: 'delivery outcome', key: TABLE_KEYS.outcome('<eventId>', '<subscription>') },
  { item: 'endpoint health', key: TABLE_KEYS.endpointHealth('<id>') },
  {
    item: 'delivery attempt',
    key: TABLE_KEYS.attempt('<subscription>', '<attemptedAt>', '<eventId>', '<attempt>'),
  },
  { item: 'rate window', key: TABLE_KEYS.rateWindow('<subscription>', '<unix second>') },
  {
    item: 'delivery being retried',
    key: TABLE_KEYS.retrying('<subscription>', '<eventId>', '<hash of the event, 0-15>'),
  },
  { item: 'account', key: TABLE_KEYS.account('<id>') },
  { item: 'account shard version', key: TABLE_KEYS.accountVersion('<shard>') },
  { item: 'subscription', key: TABLE_KEYS.subscription('<id>') },
  { item: 'message action command', key: TABLE_KEYS.actionCommand('<shard>', '<account>', '<id>') },
  { item: 'shard lease', key: TABLE_KEYS.lease('<shard>') },
  { item: 'watcher heartbeat', key: TABLE_KEYS.heartbeat('<worker>') },
  { item: 'shard count', key: TABLE_KEYS.shardCount() },
  {
    item: 'account status (as last reported)',
    key: TABLE_KEYS.accountStatus('<account>', '<hash of the account, 0-15>'),
  },
  { item: "a watcher task's tally of its accounts (held, failing)", key: TABLE_KEYS.statusTally('<task>') },
  {
    item: "management API token, or a dashboard login link's code",
    key: TABLE_KEYS.apiToken('<sha256 of the token or code>'),
  },
  { item: 'connect flow under way', key: TABLE_KEYS.connectFlow('<state id>') },
  { item: 'connect link used', key: TABLE_KEYS.connectLink('<link signature>') },
  { item: 'OAuth2 tokens as last refreshed (sealed)', key: TABLE_KEYS.oauth2Tokens('<account>') },
  { item: 'credential wrapping key (KMS ciphertext)', key: TABLE_KEYS.credentialWrappingKey('<version>') },
];

/** The table as CreateTable takes it (the emulator tests); the construct declares the same from the constants above. */
export const STATE_TABLE_DEFINITION: Omit<CreateTableCommandInput, 'TableName'> = {
  KeySchema: [
    { AttributeName: TABLE_KEY.partition, KeyType: 'HASH' },
    { AttributeName: TABLE_KEY.sort, KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    TABLE_KEY.partition,
    TABLE_KEY.sort,
    DEAD_LETTER_INDEX.partitionKey,
    DEAD_LETTER_INDEX.sortKey,
    ACCOUNT_SHARD_INDEX.partitionKey,
    ACCOUNT_SHARD_INDEX.sortKey,
  ].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
  GlobalSecondaryIndexes: [
    {
      IndexName: DEAD_LETTER_INDEX.name,
      KeySchema: [
        { AttributeName: DEAD_LETTER_INDEX.partitionKey, KeyType: 'HASH' },
        { AttributeName: DEAD_LETTER_INDEX.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...DEAD_LETTER_INDEX.listedAttributes] },
    },
    {
      IndexName: ACCOUNT_SHARD_INDEX.name,
      KeySchema: [
        { AttributeName: ACCOUNT_SHARD_INDEX.partitionKey, KeyType: 'HASH' },
        { AttributeName: ACCOUNT_SHARD_INDEX.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  BillingMode: 'PAY_PER_REQUEST',
};
