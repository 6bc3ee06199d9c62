import type { AccountConfig, Config } from '../../config/config.js';
import { parseAccountDocument, parseSubscriptionDocument } from '../../config/load-config.js';
import { errorMessage } from '../../domain/errors.js';
import { type Page, type PageQuery, paginate } from '../../domain/pages.js';
import type { SubscriptionConfig } from '../../domain/subscriptions.js';
import type { Listed, Origin } from '../../ports/management.js';
import type { Logger } from '../../ports/services.js';
import type { SqliteManagedDocuments } from './sqlite-management-store.js';

export type RemoveOutcome = 'removed' | 'not-found' | 'read-only';

/**
 * Local mode's accounts and subscriptions: the config file's, and those created through the management API
 * (kept in SQLite as the documents they were created from). The pipeline reads `subscriptions` and the
 * watcher `accountConfigs()` on every use, so a change takes effect without a restart.
 */
export class LocalDirectory {
  private readonly accounts = new Map<string, Listed<AccountConfig>>();
  /** Read by the deliver stage and replays: changed in place, never replaced. */
  readonly subscriptions = new Map<string, SubscriptionConfig>();
  private readonly subscriptionOrigins = new Map<string, Origin>();
  private subscriptionList: readonly SubscriptionConfig[] = [];

  constructor(
    config: Pick<Config, 'accounts' | 'subscriptions'>,
    private readonly stored: {
      readonly accounts: SqliteManagedDocuments;
      readonly subscriptions: SqliteManagedDocuments;
    },
    private readonly logger: Logger,
  ) {
    for (const account of config.accounts)
      this.accounts.set(account.id, { value: account, origin: 'config' });
    for (const subscription of config.subscriptions) this.setSubscription(subscription, 'config');
    for (const { id, document } of stored.accounts.list()) {
      if (this.accounts.has(id)) this.skipStored('account', id, 'the config file defines the same id');
      else
        this.load('account', id, () =>
          this.accounts.set(id, { value: parseAccountDocument(document, id), origin: 'api' }),
        );
    }
    for (const { id, document } of stored.subscriptions.list()) {
      if (this.subscriptions.has(id))
        this.skipStored('subscription', id, 'the config file defines the same id');
      else
        this.load('subscription', id, () =>
          this.setSubscription(parseSubscriptionDocument(document, id, undefined), 'api'),
        );
    }
    this.refreshSubscriptionList();
  }

  accountConfigs(): AccountConfig[] {
    return [...this.accounts.values()].map((a) => a.value);
  }

  listAccounts(): Listed<AccountConfig>[] {
    return [...this.accounts.values()].sort((a, b) => a.value.id.localeCompare(b.value.id));
  }

  accountPage(query: PageQuery): Page<Listed<AccountConfig>> {
    return paginate(this.listAccounts(), (a) => a.value.id, query);
  }

  account(id: string): Listed<AccountConfig> | undefined {
    return this.accounts.get(id);
  }

  existingAccounts(ids: readonly string[]): ReadonlySet<string> {
    return new Set(ids.filter((id) => this.accounts.has(id)));
  }

  /** Stores and adds an account; false when its id is taken. */
  addAccount(document: unknown, account: AccountConfig): boolean {
    if (this.accounts.has(account.id) || !this.stored.accounts.insert(account.id, document)) return false;
    this.accounts.set(account.id, { value: account, origin: 'api' });
    return true;
  }

  /** The document an API-made account was created or last updated from (secrets inline); undefined otherwise. */
  accountDocument(id: string): unknown {
    return this.accounts.get(id)?.origin === 'api' ? this.stored.accounts.get(id) : undefined;
  }

  /** Replaces an API-made account (same id). */
  replaceAccount(document: unknown, account: AccountConfig): boolean {
    if (
      this.accounts.get(account.id)?.origin !== 'api' ||
      !this.stored.accounts.replace(account.id, document)
    )
      return false;
    this.accounts.set(account.id, { value: account, origin: 'api' });
    return true;
  }

  removeAccount(id: string): RemoveOutcome {
    const existing = this.accounts.get(id);
    if (!existing) return 'not-found';
    if (existing.origin === 'config') return 'read-only';
    this.stored.accounts.delete(id);
    this.accounts.delete(id);
    return 'removed';
  }

  /** Every subscription, for fan-out: the same array until one is added or removed. */
  subscriptionConfigs(): readonly SubscriptionConfig[] {
    return this.subscriptionList;
  }

  listSubscriptions(): Listed<SubscriptionConfig>[] {
    return [...this.subscriptions.values()]
      .map((value) => ({ value, origin: this.subscriptionOrigins.get(value.id) ?? 'config' }))
      .sort((a, b) => a.value.id.localeCompare(b.value.id));
  }

  subscription(id: string): Listed<SubscriptionConfig> | undefined {
    const value = this.subscriptions.get(id);
    return value && { value, origin: this.subscriptionOrigins.get(id) ?? 'config' };
  }

  addSubscription(document: unknown, subscription: SubscriptionConfig): boolean {
    if (
      this.subscriptions.has(subscription.id) ||
      !this.stored.subscriptions.insert(subscription.id, document)
    )
      return false;
    this.setSubscription(subscription, 'api');
    this.refreshSubscriptionList();
    return true;
  }

  subscriptionDocument(id: string): unknown {
    return this.subscriptionOrigins.get(id) === 'api' ? this.stored.subscriptions.get(id) : undefined;
  }

  replaceSubscription(document: unknown, subscription: SubscriptionConfig): boolean {
    if (
      this.subscriptionOrigins.get(subscription.id) !== 'api' ||
      !this.stored.subscriptions.replace(subscription.id, document)
    )
      return false;
    this.setSubscription(subscription, 'api');
    this.refreshSubscriptionList();
    return true;
  }

  removeSubscription(id: string): RemoveOutcome {
    const origin = this.subscriptionOrigins.get(id);
    if (!origin) return 'not-found';
    if (origin === 'config') return 'read-only';
    this.stored.subscriptions.delete(id);
    this.subscriptions.delete(id);
    this.subscriptionOrigins.delete(id);
    this.refreshSubscriptionList();
    return 'removed';
  }

  private setSubscription(subscription: SubscriptionConfig, origin: Origin): void {
    this.subscriptions.set(subscription.id, subscription);
    this.subscriptionOrigins.set(subscription.id, origin);
  }

  private refreshSubscriptionList(): void {
    this.subscriptionList = [...this.subscriptions.values()];
  }

  private load(kind: string, id: string, add: () => void): void {
    try {
      add();
    } catch (error) {
      this.skipStored(kind, id, errorMessage(error));
    }
  }

  /** A stored item that cannot be used stays stored (nothing is lost) and is reported at every start. */
  private skipStored(kind: string, id: string, reason: string): void {
    this.logger.error(`${kind} created through the API is not used`, { id, reason });
  }
}
