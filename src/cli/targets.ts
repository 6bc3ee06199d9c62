import { destinationGuardFor } from '../adapters/http/destination-guard.js';
import { NodeHttpSender } from '../adapters/http/node-http-sender.js';
import { LocalDirectory } from '../adapters/local/local-directory.js';
import { openLocalStores } from '../adapters/local/local-stores.js';
import { sqliteRetryQueue } from '../adapters/local/retry-queue.js';
import { createLogger } from '../adapters/powertools-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import type { AwsAdapters } from '../compose/aws/aws-composition.js';
import { loadConfig } from '../config/load-config.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type { DeliveredHook } from '../pipeline/handle-delivery.js';
import type { ApiTokenStore } from '../ports/management.js';
import type { AttemptLog, DeliveryLog, RetryQueue, SubscriptionStatusStore } from '../ports/pipeline.js';

/** What the operating commands work on: local mode's SQLite file, or a deployed stack's DynamoDB table. */
export interface Target {
  readonly log: DeliveryLog;
  readonly attempts: AttemptLog;
  readonly subscriptionStatus: SubscriptionStatusStore;
  /** The management API's tokens (hashes only). */
  readonly apiTokens: ApiTokenStore;
  readonly http: NodeHttpSender;
  readonly timeoutMs: number;
  subscriptions(): Promise<readonly SubscriptionConfig[]>;
  /**
   * Runs the subscriptions' after-delivery actions after a replay's 2xx. AWS mode files them for the watcher task;
   * in local mode they need the running bridge's IMAP connection, which this process does not have (undefined).
   */
  readonly afterDelivery: DeliveredHook | undefined;
  /** Present in AWS mode only: where accounts and subscriptions are managed. */
  readonly aws?: AwsAdapters;
  /** Local mode only: deliveries being retried (SQS neither lists nor hurries messages in flight). */
  readonly retries: RetryQueue;
  /** Where the dashboard answers: the loopback listener, or the stack's DashboardUrl (unknown with `--aws`). */
  readonly dashboardUrl: string | undefined;
  close(): Promise<void>;
}

export function openLocalTarget(configFile: string): Target {
  const config = loadConfig(configFile);
  const stores = openLocalStores(config.dataDir, systemClock);
  const http = new NodeHttpSender(destinationGuardFor(config.delivery));
  return {
    log: stores.state,
    attempts: stores.attempts,
    subscriptionStatus: stores.state,
    apiTokens: stores.apiTokens,
    retries: sqliteRetryQueue(stores.deliveries),
    dashboardUrl: `http://127.0.0.1:${config.http.port}/dashboard`,
    http,
    timeoutMs: config.delivery.timeoutSeconds * 1000,
    afterDelivery: undefined,
    // The config file's and those made through the management API.
    subscriptions: async () =>
      new LocalDirectory(
        config,
        { accounts: stores.managedAccounts, subscriptions: stores.managedSubscriptions },
        createLogger('error'),
      ).subscriptionConfigs(),
    close: async () => {
      await http.close();
      stores.close();
    },
  };
}
