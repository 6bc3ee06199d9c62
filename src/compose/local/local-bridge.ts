import { destinationGuardFor } from '../../adapters/http/destination-guard.js';
import { lazyFetchListener } from '../../adapters/http/fetch-listener.js';
import { LoopbackReceiverWake } from '../../adapters/http/loopback-receiver-wake.js';
import { NodeHttpSender } from '../../adapters/http/node-http-sender.js';
import { HttpTokenEndpoint } from '../../adapters/http/token-endpoint.js';
import { LocalDirectory } from '../../adapters/local/local-directory.js';
import {
  type LocalHttpServer,
  startLocalHttpServer,
  startPublicHttpServer,
} from '../../adapters/local/local-http-server.js';
import { openLocalStores } from '../../adapters/local/local-stores.js';
import { QueueWorker } from '../../adapters/local/queue-worker.js';
import { sqliteRetryQueue } from '../../adapters/local/retry-queue.js';
import { PrometheusMetrics } from '../../adapters/metrics/prometheus-metrics.js';
import { systemClock } from '../../adapters/system-clock.js';
import type { HttpAppRouters } from '../../app/routers.js';
import type { Config } from '../../config/config.js';
import { ConfigError } from '../../config/load-config.js';
import { ConnectSigner } from '../../connect/connect-links.js';
import { buildOnce } from '../../domain/build-once.js';
import {
  ByteBudget,
  PARSE_BYTES_IN_FLIGHT,
  PARSE_MEMORY_PER_SOURCE_BYTE,
  SOURCE_BYTES_IN_FLIGHT,
} from '../../domain/byte-budget.js';
import { errorMessage } from '../../domain/errors.js';
import { type ActionOutcome, requestCommand } from '../../domain/message-actions.js';
import { runCommand } from '../../imap/action-commands.js';
import { LoginPacer } from '../../imap/login-pacer.js';
import { StatusBoard } from '../../imap/status-board.js';
import { Watcher } from '../../imap/watcher.js';
import { ownsEverything } from '../../ownership/owns-everything.js';
import { runAfterDelivery } from '../../pipeline/after-delivery.js';
import {
  type DeliveredHook,
  type DeliveryDependencies,
  deliveryPolicyOf,
  handleDeliveryRecord,
} from '../../pipeline/handle-delivery.js';
import { handleIngestRecord } from '../../pipeline/handle-ingest.js';
import { retryingBySubscription } from '../../pipeline/retrying.js';
import type { ManagementBackend } from '../../ports/management.js';
import type { Logger } from '../../ports/services.js';
import { localManagementBackend } from './local-management-backend.js';

export interface LocalBridge {
  /** Base URL of the loopback HTTP server (status and blobs). */
  readonly url: string;
  stop(): Promise<void>;
}

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Parsing is CPU-bound on this thread; concurrency here only lets receives lease records in batches. */
const PARSE_CONCURRENCY = 16;

/** Local mode: watcher, parse stage and deliver stage in one process, on SQLite and local files. */
export async function startLocalBridge(config: Config, logger: Logger): Promise<LocalBridge> {
  const clock = systemClock;
  const stores = openLocalStores(config.dataDir, clock);
  const { state, ingest, deliveries, blobs } = stores;
  ingest.releaseStaleLeases();
  deliveries.releaseStaleLeases();
  const status = new StatusBoard();

  const directory = new LocalDirectory(
    config,
    { accounts: stores.managedAccounts, subscriptions: stores.managedSubscriptions },
    logger,
  );
  const subscriptions = directory.subscriptions;
  // Set once the watcher exists: API requests that change accounts before then change what it starts with.
  let reconcileAccounts = async (): Promise<void> => {};
  // Set once the watcher exists: until then no account is held, and an action finds none.
  let actOnMessage: NonNullable<ManagementBackend['actOnMessage']> = async () => undefined;
  /** An action through the API, noted in the account's action log once it ran (or could not reach the server). */
  const actAndRecord: ManagementBackend['actOnMessage'] = async (message, action, requestId) => {
    const command = requestCommand(message, action, requestId, clock.now());
    let outcome: ActionOutcome | undefined;
    try {
      outcome = await actOnMessage(message, action, requestId);
    } catch (error) {
      await stores.actions.record(command, { outcomes: [], unreached: errorMessage(error) }, clock.now());
      throw error;
    }
    if (outcome) await stores.actions.record(command, { outcomes: [outcome] }, clock.now());
    return outcome;
  };
  /** A subscription's actions after a 2xx (a delivery's or a replay's), noted in the action log once they ran. */
  const afterDelivery: DeliveredHook = (record, subscription, routedAmong) =>
    // Beside the delivery, never holding its queue: the actions may wait for the mail server.
    void runAfterDelivery(record, subscription, routedAmong.values(), {
      log: state,
      perform: async (command) => {
        const result = await runCommand(
          command,
          (message, action, requestId) => actOnMessage(message, action, requestId),
          logger,
        );
        await stores.actions.record(command, result, clock.now());
      },
      clock,
      logger,
    }).catch((error: unknown) =>
      logger.error('after-delivery actions failed', {
        eventId: record.eventId,
        error: errorMessage(error),
      }),
    );
  const guard = destinationGuardFor(config.delivery);
  const http = new NodeHttpSender(guard);
  const tokenEndpoint = new HttpTokenEndpoint(guard);
  const connectSigner = new ConnectSigner();
  const connectConfig = config.connect;
  // Assigned below, before the server answers its first request.
  let server: LocalHttpServer;
  const retries = sqliteRetryQueue(deliveries);
  const backend = localManagementBackend({
    retries,
    config,
    stores,
    status,
    directory,
    http,
    guard,
    logger,
    accountsChanged: () => reconcileAccounts(),
    actOnMessage: (message, action, requestId) => actAndRecord(message, action, requestId),
    afterDelivery,
    connect: { signer: connectSigner, baseUrl: () => connectBaseUrl() },
  });
  // Browsers come back to the public listener where there is one; otherwise to this machine's loopback.
  const connectBaseUrl = () => config.http.public?.url ?? server.url;
  const metrics = new PrometheusMetrics({
    connectionsByState: () => status.connectionsByState(),
    queues: () => [
      { queue: 'ingest', depth: ingest.depth(), oldestAgeSeconds: ingest.oldestDueAgeMs() / 1000 },
      { queue: 'delivery', depth: deliveries.depth(), oldestAgeSeconds: deliveries.oldestDueAgeMs() / 1000 },
    ],
    deadLetters: () => state.deadLetterCount(),
  });
  const api = buildOnce(async () =>
    (await import('../../api/management-api.js')).createManagementApi(backend),
  );
  const connect =
    connectConfig &&
    buildOnce(async () =>
      (await import('../../connect/connect-routes.js')).createConnectRoutes({
        config: connectConfig,
        signer: connectSigner,
        flows: new (await import('../../adapters/memory/memory-connect-flows.js')).MemoryConnectFlows(
          backend.clock,
        ),
        // Links and the redirect URI name the configured URL, whichever listener the request came in at.
        baseUrl: () => connectBaseUrl(),
        backend,
        tokenEndpoint,
      }),
    );
  const dashboard = buildOnce(async () => {
    const [{ createDashboard }, { messageDetailsReader }] = await Promise.all([
      import('../../dashboard/dashboard.js'),
      import('../../dashboard/message-details.js'),
    ]);
    // Subjects and senders come from the raw messages, only where the operator turned them on.
    return createDashboard(backend, {
      tokens: 'once-any-exists',
      messageDetails: config.dashboard.showMessageDetails ? messageDetailsReader(blobs) : undefined,
    });
  });
  /** The one HTTP app with these routers, loaded with the listener's first request. */
  const appListener = (routers: HttpAppRouters) =>
    lazyFetchListener(
      async () => (await import('../../app/http-app.js')).createHttpApp(routers, logger),
      (error) => logger.error('loading the HTTP app failed', { error: errorMessage(error) }),
    );
  server = await startLocalHttpServer(
    config.http.port,
    appListener({
      blobs,
      status: () => ({
        accounts: status.snapshot(),
        queues: { ingest: ingest.depth(), delivery: deliveries.depth() },
        // Deliveries waiting for their next attempt after failed ones, by subscription.
        retrying: [...retryingBySubscription(retries.pending())].map(
          ([subscriptionId, { count, nextAttemptAt }]) => ({
            subscriptionId,
            deliveries: count,
            nextAttemptAt: new Date(nextAttemptAt).toISOString(),
          }),
        ),
      }),
      api,
      dashboard,
      ...(connect ? { connect } : {}),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    }),
  );
  // Links in events name the address receivers can reach: the public listener's, where there is one.
  blobs.setBaseUrl(config.http.public?.url ?? server.url);
  const publicServer =
    config.http.public &&
    (await startPublicHttpServer(
      config.http.public,
      // Other machines reach the API, the connect flow and blob links; status, metrics and the dashboard stay here.
      appListener({ api, blobs, ...(connect ? { connect } : {}) }),
    ).catch(async (error: unknown) => {
      await server.close();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      throw new ConfigError('the config', [
        { path: 'http.public.port', message: `${config.http.public?.port} is in use: choose a free port` },
      ]);
    }));

  const parseBudget = new ByteBudget(PARSE_BYTES_IN_FLIGHT);
  const parseWorker = new QueueWorker(
    ingest,
    async (message) => {
      const size = message.body.kind === 'message' ? message.body.size : 0;
      const release = await parseBudget.acquire(size * PARSE_MEMORY_PER_SOURCE_BYTE);
      try {
        await handleIngestRecord(message.body, {
          blobs,
          deliveries,
          subscriptions: directory.subscriptionConfigs(),
          metrics,
        });
      } finally {
        release();
      }
      return { kind: 'done' };
    },
    { name: 'ingest', concurrency: PARSE_CONCURRENCY, logger },
  );
  // A receiver on this machine started after the bridge (the quick start's `listen`) gets its deliveries as soon
  // as it answers, not at the next scheduled retry minutes later.
  const deliveryHttp = new LoopbackReceiverWake(http, async (origin) => {
    const waiting = directory.subscriptionConfigs().filter((s) => new URL(s.url).origin === origin);
    for (const subscription of waiting) {
      const retried = await retries.retryNow(subscription.id).catch((error: unknown) => {
        logger.error('retrying the deliveries of a receiver that answers now failed', {
          subscription: subscription.id,
          error: errorMessage(error),
        });
        return 0;
      });
      if (retried)
        logger.info('the receiver answers now: retrying its deliveries', {
          subscription: subscription.id,
          retried,
        });
    }
  });
  const deliveryDependencies: DeliveryDependencies = {
    log: state,
    attempts: stores.attempts,
    subscriptionStatus: state,
    subscriptions,
    deliveries,
    throttle: stores.throttle,
    http: deliveryHttp,
    clock,
    logger,
    policy: deliveryPolicyOf(config.delivery),
    metrics,
    delivered: afterDelivery,
  };
  const deliverWorker = new QueueWorker(
    deliveries,
    (message) => handleDeliveryRecord(message.body, message.receiveCount, deliveryDependencies),
    {
      name: 'delivery',
      concurrency: config.delivery.concurrency,
      perGroupLimit: config.delivery.maxInFlightPerEndpoint,
      logger,
    },
  );
  parseWorker.start();
  deliverWorker.start();

  const prune = async () => {
    const cutoff = clock.now() - config.retention.days * 86_400_000;
    const removed = {
      blobs: await blobs.pruneOlderThan(cutoff),
      deliveries: await state.pruneDeliveredOlderThan(cutoff),
      attempts: await stores.attempts.pruneOlderThan(cutoff),
      actions: await stores.actions.pruneOlderThan(cutoff),
    };
    if (removed.blobs + removed.deliveries + removed.attempts + removed.actions > 0)
      logger.info('pruned local data past retention', removed);
  };
  await prune();
  const pruning = setInterval(() => {
    prune().catch((error: unknown) => logger.error('pruning failed', { error: errorMessage(error) }));
  }, PRUNE_INTERVAL_MS);

  const watcher = new Watcher({
    accounts: { list: async () => directory.accountConfigs() },
    ownership: ownsEverything,
    status,
    policy: config.reconnect,
    checkIntervalMs: config.imap.checkIntervalSeconds * 1000,
    logins: new LoginPacer(
      { maxConcurrent: config.imap.maxConcurrentLogins, perSecond: config.imap.loginsPerSecond },
      clock,
    ),
    tokenStore: stores.oauth2Tokens,
    tokenEndpoint,
    metrics,
    cursors: state,
    sourceBudget: new ByteBudget(SOURCE_BYTES_IN_FLIGHT),
    ingest,
    blobs,
    clock,
    logger,
  });
  await watcher.start();
  actOnMessage = (message, action, requestId) => watcher.actOnMessage(message, action, requestId);
  reconcileAccounts = () =>
    watcher
      .reconcile()
      .catch((error: unknown) => logger.error('reconciling accounts failed', { error: errorMessage(error) }));

  if (directory.accountConfigs().length === 0)
    logger.info('no mail accounts yet: add one to the config file or through the management API', {
      meanwhile: 'idlehook trigger message.received sends a sample through the pipeline',
    });
  logger.info('idlehook local mode started', {
    url: server.url,
    dashboard: `${server.url}/dashboard`,
    ...(publicServer ? { publicUrl: publicServer.url } : {}),
    accounts: directory.accountConfigs().length,
    mailboxes: watcher.mailboxCount,
    subscriptions: directory.subscriptionConfigs().length,
  });

  return {
    url: server.url,
    stop: async () => {
      clearInterval(pruning);
      await watcher.stop();
      await parseWorker.stop();
      await deliverWorker.stop();
      deliveryHttp.close();
      await http.close();
      await publicServer?.close();
      await server.close();
      stores.close();
      logger.info('idlehook stopped');
    },
  };
}
