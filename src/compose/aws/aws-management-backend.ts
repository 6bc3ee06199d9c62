import { AwsDirectory } from '../../adapters/aws/aws-directory.js';
import { redeemLoginCode } from '../../api/tokens.js';
import type { AwsEnvironment } from '../../config/aws-environment.js';
import { addTallies } from '../../domain/account-status.js';
import { actThroughCommand } from '../../imap/action-commands.js';
import { STATUS_REPORT_STALE_AFTER_MS, TALLY_STALE_AFTER_MS } from '../../imap/status-reporter.js';
import { replayDeadLetters } from '../../pipeline/replay.js';
import type { ManagementBackend } from '../../ports/management.js';
import type { ReportedAccountStatus } from '../../ports/watcher.js';
import { type AwsAdapters, fileAfterDelivery } from './aws-composition.js';

/** The accounts and subscriptions as the API and the CLI change them. */
export function awsDirectory(aws: AwsAdapters): AwsDirectory {
  return new AwsDirectory({
    accounts: aws.accounts,
    subscriptions: aws.subscriptions,
    resolver: aws.secrets,
    writer: aws.secretWriter,
    sealer: aws.sealer,
    secretPrefix: aws.secretPrefix,
    logger: aws.logger,
  });
}

/**
 * What the management API works on in AWS mode: the state table, KMS, Secrets Manager and the queues, the same stores
 * the functions and the watcher use. Accounts' status is as the watcher tasks last reported it.
 */
export function awsManagementBackend(aws: AwsAdapters, env: AwsEnvironment): ManagementBackend {
  const directory = awsDirectory(aws);
  /** A report older than this is from a task that stopped without a successor reporting the account. */
  const fresh = (report: ReportedAccountStatus) =>
    aws.clock.now() - report.reportedAt < STATUS_REPORT_STALE_AFTER_MS;
  return {
    directory,
    verifyToken: (token) => aws.apiTokens.verify(token),
    retries: aws.retrying,
    readMessage: async (coordinates) =>
      (await import('../../pipeline/stored-messages.js')).readStoredMessage(aws.blobs, coordinates),
    hasTokens: () => aws.apiTokens.any(),
    redeemLoginCode: (code) => redeemLoginCode(aws.apiTokens, aws.clock, code),
    accountCounts: async () => {
      const [total, tallies] = await Promise.all([aws.accounts.total(), aws.accountStatusReports.tallies()]);
      const { failing, failingIds } = addTallies(
        tallies.filter((tally) => aws.clock.now() - tally.reportedAt < TALLY_STALE_AFTER_MS),
      );
      return { total, failing, failingIds };
    },
    accountStatusesOf: async (ids) => {
      const reports = await aws.accountStatusReports.some(ids);
      return new Map([...reports].filter(([, report]) => fresh(report)));
    },
    accountStatus: async (id) => {
      const report = await aws.accountStatusReports.of(id);
      return report && fresh(report) ? report : undefined;
    },
    unreportedState: 'unknown',
    queueDepths: async () => ({ ingest: await aws.ingest.depth(), delivery: await aws.deliveries.depth() }),
    checkAccount: async (account) => {
      const { diagnoseAccount } = await import('../../imap/doctor/doctor.js');
      return diagnoseAccount(account, {
        tokenStore: aws.oauth2Tokens,
        tokenEndpoint: aws.tokenEndpoint,
        addresses: aws.guard,
      });
    },
    // The watcher sees the shard's version move at its next check (IDLEHOOK_ACCOUNTS_REFRESH_SECONDS, 2 s).
    accountsChanged: () => undefined,
    // Run by the watcher task holding the account: filed as a command, the result waited for.
    actOnMessage: (message, action, requestId) =>
      actThroughCommand(aws.actionCommands, aws.clock, message, action, requestId),
    deadLetterPage: (query) => aws.state.deadLetterPage(query),
    replay: async (filter) =>
      replayDeadLetters(filter, {
        log: aws.state,
        attempts: aws.attempts,
        subscriptionStatus: aws.state,
        subscriptions: new Map((await aws.subscriptions.list()).map((s) => [s.id, s])),
        http: aws.http,
        clock: aws.clock,
        timeoutMs: env.IDLEHOOK_DELIVERY_TIMEOUT_SECONDS * 1000,
        delivered: fileAfterDelivery(aws),
      }),
    attempts: aws.attempts,
    // The commands themselves, kept a day: the action log of AWS mode.
    actions: aws.actionCommands,
    subscriptionStatus: aws.state,
    clock: aws.clock,
    logger: aws.logger,
  };
}
