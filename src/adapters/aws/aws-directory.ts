import { randomBytes } from 'node:crypto';
import { type SecretKind, secretName } from '../../config/aws-environment.js';
import type { AccountConfig } from '../../config/config.js';
import { ConfigError } from '../../config/load-config.js';
import { errorMessage } from '../../domain/errors.js';
import { decodeCursor, encodeCursor, type Page, type PageQuery } from '../../domain/pages.js';
import type { SubscriptionConfig } from '../../domain/subscriptions.js';
import type { AccountListing, Listed, ManagedDirectory } from '../../ports/management.js';
import type { CredentialSealer, Logger, SecretResolver, SecretWriter } from '../../ports/services.js';
import type { DynamoDbAccountRepository } from './dynamodb-account-repository.js';
import type {
  DynamoDbSubscriptionRepository,
  StoredSubscription,
} from './dynamodb-subscription-repository.js';
import { listingOf, type StoredAccount, type StoredCredentials, storedAccountOf } from './stored-account.js';

type Document = Record<string, unknown>;

/**
 * Secrets an operator manages and passes by ARN (the CLI's `--password-secret-arn`, `--secret-arn`): stored as
 * references, never copied, and never deleted by a change or a removal unless idlehook's own naming says it made
 * them.
 */
export interface SecretsByArn {
  readonly passwordSecretArn?: string;
  readonly secretArn?: string;
  readonly previousSecretArn?: string;
}

/** Hex characters of the random version id in a secret's name (see storeSecret). */
const SECRET_VERSION_LENGTH = 16;

const accountSecrets = (stored: StoredAccount | undefined) => [
  stored?.passwordSecretArn,
  stored?.oauth2?.secretArn,
];
const subscriptionSecrets = (stored: StoredSubscription | undefined) => [
  stored?.secretArn,
  stored?.previousSecretArn,
];

/** The fields of `fields` that are set (documents are checked by strict schemas, and stored as DynamoDB items). */
function defined(fields: Document): Document {
  let result: Document = {};
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined) result = { ...result, [key]: value };
  return result;
}

/** An account as the management API's documents give it, secrets inline (it never leaves the function). */
function accountDocumentOf(account: AccountConfig): Document {
  const { auth } = account;
  return defined({
    id: account.id,
    host: account.host,
    port: account.port,
    security: account.security,
    user: account.user,
    ...(auth.kind === 'password'
      ? { password: auth.password }
      : {
          oauth2: defined({
            tokenUrl: auth.tokenUrl,
            clientId: auth.clientId,
            scope: auth.scope,
            clientSecret: auth.clientSecret,
            refreshToken: auth.refreshToken,
          }),
        }),
    connectionLimit: account.connectionLimit,
    tls: defined({ ca: account.tls.ca, servername: account.tls.servername }),
    mailboxes: [...account.mailboxes],
    initialSync: account.initialSync,
  });
}

/**
 * An account's credentials as the API and the CLI store them: sealed in the item. Refused where the stack has
 * no credentials key yet (deployed before sealing), rather than stored in a secret of its own as before.
 */
export async function sealCredentials(
  sealer: CredentialSealer | undefined,
  id: string,
  auth: AccountConfig['auth'],
): Promise<StoredCredentials> {
  if (!sealer)
    throw new Error(
      'this stack has no credentials key (IDLEHOOK_CREDENTIALS_KEY_ID): deploy it again with this version, then retry',
    );
  const owner = { kind: 'account', id } as const;
  if (auth.kind === 'password') return { sealedPassword: await sealer.seal(auth.password, owner) };
  return {
    oauth2: {
      tokenUrl: auth.tokenUrl,
      clientId: auth.clientId,
      ...(auth.scope ? { scope: auth.scope } : {}),
      sealedSecret: await sealer.seal(
        JSON.stringify(defined({ refreshToken: auth.refreshToken, clientSecret: auth.clientSecret })),
        owner,
      ),
    },
  };
}

/**
 * AWS mode's accounts and subscriptions for the management API: settings in DynamoDB, where the watcher and the
 * functions read them; account passwords and refresh tokens sealed in the same items (a secret each would cost
 * $0.40 a month per account, over 90% of an account's cost); subscriptions' signing secrets, a handful per
 * deployment, in Secrets Manager. An account's secret stored before sealing is deleted at its next change. Everything here was made
 * by the API or the CLI, so nothing is read-only. The watcher picks up changes at its next account refresh.
 */
export class AwsDirectory implements ManagedDirectory {
  constructor(
    private readonly parts: {
      readonly accounts: DynamoDbAccountRepository;
      readonly subscriptions: DynamoDbSubscriptionRepository;
      readonly resolver: SecretResolver;
      readonly writer: SecretWriter;
      readonly sealer: CredentialSealer | undefined;
      readonly secretPrefix: string;
      readonly logger: Logger;
    },
  ) {}

  /**
   * Every value is stored under a new name (a random version id), so that a name never changes value: the
   * functions and the watcher cache secrets by name for minutes, and a rotated secret must not be read as its old
   * value meanwhile. Random, not derived from the value: a name is readable through ListSecrets, CloudTrail and
   * the account item, and a hash of a password there would let anyone test guesses offline.
   */
  private async storeSecret(
    kind: SecretKind,
    id: string,
    value: string,
    current: readonly (string | undefined)[],
  ): Promise<string> {
    // A value the item holds already (a change that kept the password, a rotation's previous secret) keeps its
    // secret: a new one per change would only churn.
    for (const arn of current) {
      if (arn === undefined) continue;
      const held = await this.parts.resolver.resolve(arn).catch(() => undefined);
      if (held === value) return arn;
    }
    const version = randomBytes(SECRET_VERSION_LENGTH / 2).toString('hex');
    return this.parts.writer.store(secretName(this.parts.secretPrefix, kind, `${id}/${version}`), value);
  }

  /**
   * Removes the secrets this directory stored for an item (`candidates`: the ones it referenced before a change
   * and the ones a change stored) that the item as stored now does not reference: a changed password, a deleted
   * item, the secret of a request that lost a race. Read after the write, so a concurrent change that kept a
   * secret keeps it. Secrets stored under other names (by the CLI, or an operator's given by ARN) are left.
   */
  private async removeUnreferenced(
    kind: SecretKind,
    id: string,
    candidates: readonly (string | undefined)[],
    referenced: readonly (string | undefined)[],
  ): Promise<void> {
    const kept = new Set(referenced);
    const unreferenced = new Set(
      candidates.filter(
        (arn): arn is string => arn !== undefined && this.madeSecret(kind, id, arn) && !kept.has(arn),
      ),
    );
    // The change is stored by now: a secret left behind is the lesser harm than failing the request for it.
    await Promise.all(
      [...unreferenced].map((arn) =>
        this.parts.writer.remove(arn).catch((error: unknown) =>
          this.parts.logger.warn('a secret no longer used was not deleted; delete it by hand', {
            secretArn: arn,
            error: errorMessage(error),
          }),
        ),
      ),
    );
  }

  /**
   * Whether a secret is named as this directory names an item's secrets, or as the CLI did before sealing
   * (then the six characters AWS appends to an ARN): those it deletes once unreferenced; any other is an
   * operator's.
   */
  madeSecret(kind: SecretKind, id: string, arn: string): boolean {
    const stored = secretName(this.parts.secretPrefix, kind, id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`:secret:${stored}(/[0-9a-f]{${SECRET_VERSION_LENGTH}})?-[A-Za-z0-9]{6}$`).test(arn);
  }

  async accountPage(query: PageQuery): Promise<Page<Listed<AccountListing>>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const { accounts, more } = await this.parts.accounts.page(query.limit, after);
    const last = accounts.at(-1);
    return {
      data: accounts.map((account) => ({ value: listingOf(account), origin: 'api' as const })),
      nextCursor: more && last ? encodeCursor(last.id) : null,
    };
  }

  /** One account by its key, its credentials opened (undefined too where they cannot be read; logged). */
  async account(id: string): Promise<Listed<AccountConfig> | undefined> {
    const stored = await this.parts.accounts.current(id);
    const value = stored && (await this.parts.accounts.opened(stored));
    return value && { value, origin: 'api' };
  }

  async existingAccounts(ids: readonly string[]): Promise<ReadonlySet<string>> {
    return this.parts.accounts.existing(ids);
  }

  // Checked first so that a taken id writes no secret; the put's condition decides between concurrent requests.
  async addAccount(_document: unknown, account: AccountConfig, byArn: SecretsByArn = {}): Promise<boolean> {
    if (await this.parts.accounts.current(account.id)) return false;
    return this.putAccount(account, undefined, byArn);
  }

  async replaceAccount(
    _document: unknown,
    account: AccountConfig,
    byArn: SecretsByArn = {},
  ): Promise<boolean> {
    const before = await this.parts.accounts.current(account.id);
    if (!before) return false;
    return this.putAccount(account, before, byArn);
  }

  /** `before`: the account as stored when the request began; undefined for a new one. */
  private async putAccount(
    account: AccountConfig,
    before: StoredAccount | undefined,
    byArn: SecretsByArn,
  ): Promise<boolean> {
    // The watcher runs far from any loopback server: AWS mode never logs in in plain text.
    if (account.security === 'none')
      throw new ConfigError('the request body', [
        { path: 'security', message: 'AWS mode needs "tls" or "starttls"' },
      ]);
    const { auth, ...settings } = account;
    const credentials = byArn.passwordSecretArn
      ? { passwordSecretArn: byArn.passwordSecretArn }
      : await sealCredentials(this.parts.sealer, account.id, auth);
    const stored = storedAccountOf(settings, credentials);
    const written = await this.parts.accounts.put(stored, before ? 'existing' : 'new');
    await this.removeUnreferenced(
      'accounts',
      account.id,
      [...accountSecrets(before), ...accountSecrets(stored)],
      accountSecrets(await this.parts.accounts.current(account.id)),
    );
    return written;
  }

  async removeAccount(id: string): Promise<'removed' | 'not-found'> {
    const before = await this.parts.accounts.current(id);
    if (!before) return 'not-found';
    await this.parts.accounts.remove(id);
    await this.removeUnreferenced(
      'accounts',
      id,
      accountSecrets(before),
      accountSecrets(await this.parts.accounts.current(id)),
    );
    return 'removed';
  }

  async accountDocument(id: string): Promise<unknown> {
    const account = await this.account(id);
    return account && accountDocumentOf(account.value);
  }

  async listSubscriptions(): Promise<readonly Listed<SubscriptionConfig>[]> {
    return [...(await this.parts.subscriptions.list())]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((value) => ({ value, origin: 'api' as const }));
  }

  async subscription(id: string): Promise<Listed<SubscriptionConfig> | undefined> {
    const value = (await this.parts.subscriptions.list()).find((candidate) => candidate.id === id);
    return value && { value, origin: 'api' };
  }

  async addSubscription(
    document: unknown,
    subscription: SubscriptionConfig,
    byArn: SecretsByArn = {},
  ): Promise<boolean> {
    if (await this.parts.subscriptions.current(subscription.id)) return false;
    return this.putSubscription(document as Document, subscription, undefined, byArn);
  }

  async replaceSubscription(
    document: unknown,
    subscription: SubscriptionConfig,
    byArn: SecretsByArn = {},
  ): Promise<boolean> {
    const before = await this.parts.subscriptions.current(subscription.id);
    if (!before) return false;
    return this.putSubscription(document as Document, subscription, before, byArn);
  }

  /** `document` has passed the subscription schema: its secrets are `whsec_` strings. */
  private async putSubscription(
    document: Document,
    subscription: SubscriptionConfig,
    before: StoredSubscription | undefined,
    byArn: SecretsByArn,
  ): Promise<boolean> {
    const { id } = subscription;
    const previous = typeof document.previousSecret === 'string' ? document.previousSecret : undefined;
    const held = subscriptionSecrets(before);
    const stored = defined({
      id,
      url: subscription.url,
      secretArn:
        byArn.secretArn ?? (await this.storeSecret('subscriptions', id, String(document.secret), held)),
      previousSecretArn:
        byArn.previousSecretArn ??
        (previous && (await this.storeSecret('subscriptions', id, previous, held))),
      previousSecretExpiresAt: previous ? subscription.previousSecretUntil : undefined,
      events: subscription.events && [...subscription.events],
      accounts: subscription.accounts && [...subscription.accounts],
      rateLimitPerSecond: subscription.rateLimitPerSecond,
      filter: subscription.filter && JSON.stringify(subscription.filter.pattern),
      afterDelivery: subscription.afterDelivery && [...subscription.afterDelivery],
    }) as unknown as StoredSubscription;
    const written = await this.parts.subscriptions.put(stored, before ? 'existing' : 'new');
    await this.removeUnreferenced(
      'subscriptions',
      id,
      [...subscriptionSecrets(before), ...subscriptionSecrets(stored)],
      subscriptionSecrets(await this.parts.subscriptions.current(id)),
    );
    return written;
  }

  async removeSubscription(id: string): Promise<'removed' | 'not-found'> {
    const before = await this.parts.subscriptions.current(id);
    if (!before) return 'not-found';
    await this.parts.subscriptions.remove(id);
    await this.removeUnreferenced(
      'subscriptions',
      id,
      subscriptionSecrets(before),
      subscriptionSecrets(await this.parts.subscriptions.current(id)),
    );
    return 'removed';
  }

  async subscriptionDocument(id: string): Promise<unknown> {
    const stored = await this.parts.subscriptions.current(id);
    if (!stored) return undefined;
    const { resolver } = this.parts;
    const previousExpiry = stored.previousSecretExpiresAt;
    return defined({
      id,
      url: stored.url,
      secret: await resolver.resolve(stored.secretArn),
      previousSecret: stored.previousSecretArn && (await resolver.resolve(stored.previousSecretArn)),
      previousSecretExpiresAt:
        stored.previousSecretArn && previousExpiry !== undefined
          ? new Date(previousExpiry).toISOString()
          : undefined,
      events: stored.events && [...stored.events],
      accounts: stored.accounts && [...stored.accounts],
      rateLimitPerSecond: stored.rateLimitPerSecond,
      filter: stored.filter === undefined ? undefined : JSON.parse(stored.filter),
      afterDelivery: stored.afterDelivery && [...stored.afterDelivery],
    });
  }
}
