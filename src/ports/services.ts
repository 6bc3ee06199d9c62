/** What every part of idlehook uses, whichever side it is on: time, logs, metrics, secrets and blobs. */

export interface Clock {
  now(): number;
}

/** Narrow structured logger; fields never carry passwords, tokens or message bodies. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What happened, counted: the figures `/metrics` shows (local mode, the watcher task). */
export interface Metrics {
  /** A connection reached its mailbox (`ok`), or failed before it did, by the failure's code. */
  login(outcome: 'ok' | { readonly failure: string }): void;
  /** An event left the parse stage for its subscriptions. */
  eventQueued(type: string): void;
  /** A subscription's filter took an event (`matched`) or kept it from the subscription. */
  filterOutcome(subscriptionId: string, matched: boolean): void;
  /** One delivery attempt's outcome; latencies for the delivered ones (ms). */
  deliveryAttempt(attempt: {
    readonly outcome: 'delivered' | 'retry' | 'dead-lettered';
    /** 2xx, 4xx, 5xx, or `none` when no response came. */
    readonly statusClass: string;
    /** How old the event was at this attempt, whatever its outcome: from detection by the watcher (ms). */
    readonly eventAgeMs?: number;
    /** From detection by the watcher to the endpoint's answer. */
    readonly sinceDetectedMs?: number;
    /** From the message's INTERNALDATE (or detection, for other events) to the endpoint's answer. */
    readonly endToEndMs?: number;
  }): void;
}

export interface BlobStore {
  /**
   * `note`: a short ASCII string kept with the blob (in S3 its user metadata, which shares 2 KB with nothing
   * else here), read back with `NotedBlobs.getNoted`.
   */
  put(key: string, content: Buffer, note?: string): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  /** Removes a blob; removing one that is not there is no error. */
  delete(key: string): Promise<void>;
  /** Where a receiver can fetch the blob: a signed URL (in AWS mode it expires; in local mode it does not). */
  url(key: string): Promise<string>;
}

/** A blob together with the note `put` kept with it. */
export interface NotedBlobs {
  getNoted(key: string): Promise<{ readonly content: Buffer; readonly note: string | undefined } | undefined>;
}

/** Resolves a secret reference (e.g. a Secrets Manager ARN) to its value. Values are never logged. */
export interface SecretResolver {
  resolve(reference: string): Promise<string>;
}

/** Stores a secret value under a name (creating or replacing it); returns the reference to resolve it by. */
export interface SecretWriter {
  store(name: string, value: string): Promise<string>;
  /** Deletes a secret no longer referenced (recoverable for a while where the store allows); gone already is fine. */
  remove(arn: string): Promise<void>;
}

/** Whose credential a sealed value is: bound into the value, so that one copied to another item does not open. */
export interface CredentialOwner {
  readonly kind: 'account' | 'oauth2-tokens';
  readonly id: string;
}

/**
 * Encrypts credentials for storage beside the settings they belong to (AWS mode: under the stack's KMS key, in
 * the table), instead of a secret of their own per account.
 */
export interface CredentialSealer {
  seal(value: string, owner: CredentialOwner): Promise<string>;
  /** Refuses a value sealed for another owner or another stack, or one that was tampered with. */
  open(sealed: string, owner: CredentialOwner): Promise<string>;
}

export type Awaitable<T> = T | Promise<T>;
