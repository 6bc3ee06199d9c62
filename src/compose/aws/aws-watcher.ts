import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { isLoopbackHostHeader } from '../../adapters/http/loopback-host.js';
import { PrometheusMetrics } from '../../adapters/metrics/prometheus-metrics.js';
import { monotonicClock } from '../../adapters/system-clock.js';
import type { AwsEnvironment } from '../../config/aws-environment.js';
import { DEFAULT_RECONNECT_POLICY } from '../../config/config.js';
import { WATCHER_METRICS } from '../../config/deployment.js';
import { ByteBudget, SOURCE_BYTES_IN_FLIGHT } from '../../domain/byte-budget.js';
import { errorMessage } from '../../domain/errors.js';
import { ActionCommandRunner } from '../../imap/action-commands.js';
import { LoginPacer } from '../../imap/login-pacer.js';
import { StatusBoard } from '../../imap/status-board.js';
import { StatusReporter, type StatusReportTiming } from '../../imap/status-reporter.js';
import { type MailboxSessions, Watcher } from '../../imap/watcher.js';
import { ownsEverything } from '../../ownership/owns-everything.js';
import { ShardOwnership } from '../../ownership/shard-ownership.js';
import type { MailboxOwnership } from '../../ports/watcher.js';
import { type AwsClients, composeAwsAdapters } from './aws-composition.js';

const HEARTBEAT_INTERVAL_MS = 60_000;

/** Unique per process: a restarted task must not pass for the one before it, whose leases others may hold. */
function workerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Reports that the watcher loop is alive and how many mailboxes it watches (an alarm fires when it stops). */
export type Heartbeat = (watchedMailboxes: number) => Promise<void>;

/** The heartbeat as CloudWatch metrics: 1 a minute, and the number of mailboxes watched. */
export function cloudWatchHeartbeat(client: Pick<CloudWatchClient, 'send'>): Heartbeat {
  return async (watchedMailboxes) => {
    await client.send(
      new PutMetricDataCommand({
        Namespace: WATCHER_METRICS.namespace,
        MetricData: [
          { MetricName: WATCHER_METRICS.heartbeat, Value: 1, Unit: 'Count' },
          { MetricName: WATCHER_METRICS.watchedMailboxes, Value: watchedMailboxes, Unit: 'Count' },
        ],
      }),
    );
  };
}

export interface AwsWatcher {
  /** Where GET /health answers (the container health check). */
  readonly healthUrl: string;
  stop(): Promise<void>;
}

/**
 * The Fargate task: IMAP sessions for every account in DynamoDB, events to the SQS ingest queue. Accounts
 * are checked for changes every IDLEHOOK_ACCOUNTS_REFRESH_SECONDS (2 s), so adding or removing one needs no
 * restart and takes effect within seconds.
 */
export async function startAwsWatcher(
  env: AwsEnvironment,
  options: {
    readonly clients?: Partial<AwsClients>;
    readonly ownership?: MailboxOwnership;
    readonly healthPort?: number;
    readonly heartbeat?: Heartbeat;
    /** This task's name in the lease table (default: host name, process id and a random suffix). */
    readonly workerId?: string;
    /** What watches a mailbox (default: an IMAP session; the control-plane benchmark's stand-in). */
    readonly mailboxSessions?: MailboxSessions;
    /** How often the accounts' status is reported for the management API (tests shorten it). */
    readonly statusReportTiming?: StatusReportTiming;
  } = {},
): Promise<AwsWatcher> {
  const aws = composeAwsAdapters(env, options.clients);
  const taskId = options.workerId ?? workerId();
  const status = new StatusBoard();
  const leaseMs = env.IDLEHOOK_LEASE_SECONDS * 1000;
  const shards =
    options.ownership === undefined
      ? new ShardOwnership(aws.leases, monotonicClock, aws.logger, {
          workerId: taskId,
          shardCount: env.IDLEHOOK_SHARD_COUNT,
          leaseDurationMs: leaseMs,
          ...(env.IDLEHOOK_MAX_MAILBOXES_PER_TASK
            ? {
                capacity: {
                  maxMailboxes: env.IDLEHOOK_MAX_MAILBOXES_PER_TASK,
                  mailboxesByShard: () => aws.accounts.mailboxesByShard(),
                },
              }
            : {}),
        })
      : undefined;
  const metrics = new PrometheusMetrics({
    connectionsByState: () => status.connectionsByState(),
  });
  // A task reads only the accounts of the shards it holds.
  if (shards) aws.accounts.followShards(() => shards.shards);
  // Shards first: the first reconcile watches what this task holds.
  await shards?.checkShardCount();
  await shards?.cycle();
  const watcher = new Watcher({
    ...(options.mailboxSessions ? { mailboxSessions: options.mailboxSessions } : {}),
    accounts: aws.accounts,
    ownership: options.ownership ?? shards ?? ownsEverything,
    status,
    policy: DEFAULT_RECONNECT_POLICY,
    checkIntervalMs: env.IDLEHOOK_MAILBOX_CHECK_SECONDS * 1000,
    logins: new LoginPacer(
      { maxConcurrent: env.IDLEHOOK_MAX_CONCURRENT_LOGINS, perSecond: env.IDLEHOOK_LOGINS_PER_SECOND },
      aws.clock,
    ),
    tokenStore: aws.oauth2Tokens,
    tokenEndpoint: aws.tokenEndpoint,
    metrics,
    cursors: aws.state,
    sourceBudget: new ByteBudget(SOURCE_BYTES_IN_FLIGHT),
    ingest: aws.ingest,
    blobs: aws.blobs,
    clock: aws.clock,
    logger: aws.logger,
  });
  await watcher.start(env.IDLEHOOK_ACCOUNTS_REFRESH_SECONDS * 1000);
  const ownership = options.ownership ?? shards;
  const commands = new ActionCommandRunner({
    inbox: aws.actionCommands,
    filedCounts: () => aws.accounts.commandsFiled(),
    heldShards: () => shards?.shards ?? Array.from({ length: env.IDLEHOOK_SHARD_COUNT }, (_, shard) => shard),
    shardCount: env.IDLEHOOK_SHARD_COUNT,
    lease: (accountId) => ownership?.lease?.(accountId),
    holds: (accountId) => watcher.holds(accountId),
    act: (message, action, requestId) => watcher.actOnMessage(message, action, requestId),
    taskId,
    clock: aws.clock,
    logger: aws.logger,
  });
  commands.start();
  const reporter = new StatusReporter(
    status,
    aws.accountStatusReports,
    aws.clock,
    aws.logger,
    taskId,
    options.statusReportTiming,
  );
  reporter.start();

  // Healthy while the process runs its loop; account problems show in the body, not as a failed check
  // (a task replaced because one mailbox has a wrong password would only log in again).
  // Unhealthy only when the watcher cannot learn its accounts for a while, or holds shard leases it can no longer
  // vouch for (it cannot list the lease table: the others take its shards, and a new task is the cure).
  const health = createServer((request, response) => {
    if (!isLoopbackHostHeader(request.headers.host)) {
      response.writeHead(421).end();
      return;
    }
    if (request.url === '/metrics') {
      metrics.text().then(
        (body) => response.writeHead(200, { 'content-type': metrics.contentType }).end(body),
        () => response.writeHead(500).end(),
      );
      return;
    }
    const reconcile = watcher.reconcileHealth();
    const leases = shards && {
      shards: shards.shards.length,
      vouched: shards.vouched,
      shardsLeftForCapacity: shards.shardsRefusedForCapacity,
    };
    const healthy = reconcile.healthy && (leases?.vouched ?? true);
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        mailboxes: watcher.mailboxCount,
        reconcile,
        ...(leases ? { leases } : {}),
        accounts: status.snapshot(),
      }),
    );
  });
  // The container's health check runs inside the task: nothing outside it needs this port.
  await new Promise<void>((resolve) =>
    health.listen(options.healthPort ?? env.IDLEHOOK_HEALTH_PORT, '127.0.0.1', resolve),
  );
  const { port } = health.address() as AddressInfo;
  aws.logger.info('idlehook watcher started', { mailboxes: watcher.mailboxCount, healthPort: port });

  const heartbeat = options.heartbeat ?? cloudWatchHeartbeat(new CloudWatchClient({}));
  const beat = () =>
    heartbeat(watcher.mailboxCount).catch((error: unknown) =>
      aws.logger.warn('heartbeat metric not sent', { error: errorMessage(error) }),
    );
  void beat();
  const beating = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  // A third of the lease duration: two heartbeats may fail before the others count this task gone.
  let cycling = false;
  // The last cycle and its reconcile: stopping waits for them, so that no lease is taken after the release below.
  let lastCycle: Promise<unknown> = Promise.resolve();
  const leasing = setInterval(() => {
    if (!shards) return;
    // Every tick, even while a cycle is still waiting on DynamoDB: once this task's heartbeat is older than the
    // lease, its shards may be someone else's, and their connections close here rather than after the cycle.
    void watcher
      .closeUnowned()
      .catch((error: unknown) =>
        aws.logger.error('closing the sessions of lost shards failed', { error: errorMessage(error) }),
      );
    // A cycle that outlasts the interval (hundreds of takes at start) is not run twice at once.
    if (cycling) return;
    cycling = true;
    lastCycle = shards
      .cycle()
      .finally(() => {
        cycling = false;
      })
      .then((changed) => (changed ? watcher.reconcile() : undefined))
      .catch((error: unknown) =>
        aws.logger.error('reconciling after a lease change failed', { error: errorMessage(error) }),
      );
  }, leaseMs / 3);

  return {
    healthUrl: `http://127.0.0.1:${port}/health`,
    stop: async () => {
      clearInterval(beating);
      clearInterval(leasing);
      await Promise.all([lastCycle, reporter.stop(), commands.stop()]);
      await watcher.stop();
      // Sessions are closed: the others may take the shards now instead of after the lease duration.
      await shards
        ?.release()
        .catch((error: unknown) =>
          aws.logger.warn('shard leases not released; they expire instead', { error: errorMessage(error) }),
        );
      await new Promise<void>((resolve) => health.close(() => resolve()));
      await aws.http.close();
      aws.logger.info('idlehook watcher stopped');
    },
  };
}
