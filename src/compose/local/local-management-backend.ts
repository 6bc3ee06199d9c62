import type { DestinationGuard } from '../../adapters/http/destination-guard.js';
import type { NodeHttpSender } from '../../adapters/http/node-http-sender.js';
import { HttpTokenEndpoint } from '../../adapters/http/token-endpoint.js';
import type { LocalDirectory } from '../../adapters/local/local-directory.js';
import type { LocalStores } from '../../adapters/local/local-stores.js';
import type { LocalRetryQueue } from '../../adapters/local/retry-queue.js';
import { systemClock } from '../../adapters/system-clock.js';
import { redeemLoginCode } from '../../api/tokens.js';
import type { Config } from '../../config/config.js';
import { type ConnectSigner, connectLink } from '../../connect/connect-links.js';
import { tallyAccounts } from '../../domain/account-status.js';
import type { StatusBoard } from '../../imap/status-board.js';
import type { DeliveredHook } from '../../pipeline/handle-delivery.js';
import { replayDeadLetters } from '../../pipeline/replay.js';
import type { LinkRequest, ManagementBackend } from '../../ports/management.js';
import type { Logger } from '../../ports/services.js';

/** What the management API and the dashboard work on in local mode: SQLite, the in-process status board and watcher. */
export function localManagementBackend(parts: {
  readonly config: Config;
  readonly stores: LocalStores;
  readonly status: StatusBoard;
  readonly directory: LocalDirectory;
  readonly http: NodeHttpSender;
  /** Where the API's doctor may connect (undefined: anywhere). */
  readonly guard: DestinationGuard | undefined;
  readonly logger: Logger;
  readonly accountsChanged: () => Promise<void>;
  /** The watcher's: it holds every account here. */
  readonly actOnMessage: NonNullable<ManagementBackend['actOnMessage']>;
  /** The subscriptions' actions after a replayed dead letter's 2xx, run as the bridge runs them after a delivery. */
  readonly afterDelivery: DeliveredHook;
  /** Signs connect links; the loopback server's URL once it listens. */
  readonly connect: { readonly signer: ConnectSigner; readonly baseUrl: () => string };
  readonly retries: LocalRetryQueue;
}): ManagementBackend {
  const { config, stores, status, directory, http, logger } = parts;
  const clock = systemClock;
  const connect = config.connect;
  return {
    directory,
    verifyToken: (token) => stores.apiTokens.verify(token),
    hasTokens: () => stores.apiTokens.any(),
    redeemLoginCode: (code) => redeemLoginCode(stores.apiTokens, clock, code),
    accountCounts: () => {
      const { failing, failingIds } = tallyAccounts(status.snapshot());
      return { total: directory.listAccounts().length, failing, failingIds };
    },
    accountStatusesOf: (ids) =>
      new Map(
        ids.flatMap((id) => {
          const snapshot = status.snapshotOf(id);
          return snapshot ? [[id, { status: snapshot }] as const] : [];
        }),
      ),
    accountStatus: (id) => {
      const snapshot = status.snapshotOf(id);
      return snapshot && { status: snapshot };
    },
    unreportedState: 'starting',
    queueDepths: () => ({ ingest: stores.ingest.depth(), delivery: stores.deliveries.depth() }),
    checkAccount: async (account) => {
      const { diagnoseAccount } = await import('../../imap/doctor/doctor.js');
      return diagnoseAccount(account, {
        tokenStore: stores.oauth2Tokens,
        tokenEndpoint: new HttpTokenEndpoint(parts.guard),
        ...(parts.guard ? { addresses: parts.guard } : {}),
      });
    },
    accountsChanged: parts.accountsChanged,
    actOnMessage: parts.actOnMessage,
    deadLetterPage: (query) => stores.state.deadLetterPage(query),
    replay: (filter) =>
      replayDeadLetters(filter, {
        log: stores.state,
        attempts: stores.attempts,
        subscriptionStatus: stores.state,
        subscriptions: directory.subscriptions,
        http,
        clock,
        timeoutMs: config.delivery.timeoutSeconds * 1000,
        delivered: parts.afterDelivery,
      }),
    attempts: stores.attempts,
    actions: stores.actions,
    retries: parts.retries,
    subscriptionStatus: stores.state,
    readMessage: async (coordinates) =>
      (await import('../../pipeline/stored-messages.js')).readStoredMessage(stores.blobs, coordinates),
    clock,
    logger,
    ...(connect
      ? {
          connectLink: (request: LinkRequest) =>
            connectLink(connect, parts.connect.signer, parts.connect.baseUrl(), request, clock.now()),
        }
      : {}),
  };
}
