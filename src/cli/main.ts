import { parseArgs } from 'node:util';
import { openLocalStores } from '../adapters/local/local-stores.js';
import { createLogger } from '../adapters/powertools-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import type { AccountConfig } from '../config/config.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { errorMessage } from '../domain/errors.js';
import { type DoctorReport, diagnoseAccount } from '../imap/doctor/doctor.js';
import { replayDeadLetters } from '../pipeline/replay.js';
import { startLocalBridge } from '../runtime/local-bridge.js';
import { exitOnUnexpectedErrors } from '../runtime/unexpected-errors.js';
import { accountFromOptions, subscriptionFromOptions } from './aws-management.js';
import { openAwsTarget, openLocalTarget, type Target } from './targets.js';

const USAGE = `Usage: idlehook <command> [--config FILE | --aws | --stack NAME] [options]

Local mode (--config FILE, default ./idlehook.config.json):
  run                           watch the configured mailboxes and deliver webhooks
  doctor [--account ID] [--json]
                                check each account's connection step by step (DNS, TCP, TLS/STARTTLS, one
                                login, capabilities, mailboxes) and say what to fix; exits 1 on a failure

Local mode and AWS mode:
  deliveries --failed [--json]  list dead-lettered deliveries
  replay [--event ID] [--subscription ID] [--since TIME] [--until TIME]
                                send dead-lettered deliveries again (original webhook-id and body);
                                TIME is ISO 8601 and selects by when the delivery failed
  subscriptions                 list subscriptions and whether they are enabled
  subscriptions enable ID       re-enable a subscription disabled by a 410 Gone or by failing too long
  attempts SUBSCRIPTION [--limit N] [--json]
                                the endpoint's latest delivery attempts: status, response, duration

AWS mode only (--stack NAME reads the stack's outputs; --aws reads IDLEHOOK_* variables):
  accounts add --id ID (--host HOST | --provider gmail|outlook|icloud|yahoo|fastmail) --user USER
               (--password-env NAME | --password-secret-arn ARN |
                --oauth2-client-id ID --oauth2-refresh-token-env NAME [--oauth2-client-secret-env NAME]
                [--oauth2-token-url URL] [--oauth2-scope SCOPE])
               [--port N] [--security tls|starttls] [--mailboxes INBOX,Support,*] [--initial-sync new|all]
               [--ca FILE] [--servername NAME] [--skip-check]
                                (runs the doctor's checks first and stores nothing if they fail)
  accounts list | accounts remove ID
  subscriptions add --id ID --url URL (--secret-env NAME | --secret-arn ARN)
               [--events message.received,...] [--accounts a,b] [--previous-secret-arn ARN]
               [--rate-limit REQUESTS_PER_SECOND]
                                (adding an existing id replaces it; --previous-secret-arn signs with the old
                                 secret too while receivers switch)
  subscriptions remove ID

Secrets given with --password-env / --secret-env are stored in Secrets Manager as idlehook/<kind>/<id>.
`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: './idlehook.config.json' },
    aws: { type: 'boolean', default: false },
    stack: { type: 'string' },
    failed: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    event: { type: 'string' },
    subscription: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
    id: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    security: { type: 'string' },
    user: { type: 'string' },
    'password-env': { type: 'string' },
    'password-secret-arn': { type: 'string' },
    mailboxes: { type: 'string' },
    'initial-sync': { type: 'string' },
    ca: { type: 'string' },
    servername: { type: 'string' },
    url: { type: 'string' },
    'secret-env': { type: 'string' },
    'secret-arn': { type: 'string' },
    'previous-secret-arn': { type: 'string' },
    events: { type: 'string' },
    accounts: { type: 'string' },
    'rate-limit': { type: 'string' },
    account: { type: 'string' },
    'skip-check': { type: 'boolean', default: false },
    provider: { type: 'string' },
    'oauth2-client-id': { type: 'string' },
    'oauth2-token-url': { type: 'string' },
    'oauth2-scope': { type: 'string' },
    'oauth2-refresh-token-env': { type: 'string' },
    'oauth2-client-secret-env': { type: 'string' },
    limit: { type: 'string', default: '20' },
  },
});

const out = (line: string) => process.stdout.write(`${line}\n`);
const COMMANDS = new Set(['run', 'deliveries', 'replay', 'subscriptions', 'accounts', 'attempts', 'doctor']);

async function run(): Promise<void> {
  const config = loadConfig(values.config);
  const logger = createLogger(config.logLevel);
  const bridge = await startLocalBridge(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    bridge.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error: errorMessage(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  exitOnUnexpectedErrors(logger, () => bridge.stop());
}

async function deliveries(target: Target): Promise<number> {
  if (!values.failed) {
    process.stderr.write('Only `idlehook deliveries --failed` is available.\n');
    return 2;
  }
  const letters = await target.log.listDeadLetters();
  if (values.json) {
    out(
      JSON.stringify(
        letters.map(({ body: _body, ...rest }) => rest),
        null,
        2,
      ),
    );
    return 0;
  }
  if (letters.length === 0) out('No failed deliveries.');
  for (const l of letters) {
    out(
      `${new Date(l.failedAt).toISOString()}  ${l.eventId}  ${l.eventType}  -> ${l.subscriptionId}  ` +
        `attempts=${l.attempts}  ${l.reason}`,
    );
  }
  return 0;
}

async function attempts(target: Target): Promise<number> {
  const subscriptionId = positionals[1];
  const limit = Number(values.limit);
  if (!subscriptionId || !Number.isInteger(limit) || limit < 1) {
    return usageError('attempts SUBSCRIPTION [--limit N] [--json]');
  }
  const list = await target.attempts.listAttempts(subscriptionId, limit);
  if (values.json) {
    out(JSON.stringify(list, null, 2));
    return 0;
  }
  if (list.length === 0) out(`No delivery attempts logged for ${subscriptionId}.`);
  for (const a of list) {
    const result = a.status === undefined ? (a.error ?? 'no response') : `HTTP ${a.status}`;
    const response = a.responseExcerpt ? `  ${JSON.stringify(a.responseExcerpt.slice(0, 120))}` : '';
    out(
      `${new Date(a.attemptedAt).toISOString()}  ${a.succeeded ? 'ok    ' : 'failed'}  ${result}  ` +
        `${a.durationMs} ms  ${a.eventId} (${a.eventType}) attempt ${a.attempt}${response}`,
    );
  }
  return 0;
}

async function replay(target: Target): Promise<number> {
  const results = await replayDeadLetters(
    {
      eventId: values.event,
      subscriptionId: values.subscription,
      since: timeOption('--since', values.since),
      until: timeOption('--until', values.until),
    },
    {
      log: target.log,
      attempts: target.attempts,
      subscriptionStatus: target.subscriptionStatus,
      subscriptions: new Map((await target.subscriptions()).map((s) => [s.id, s])),
      http: target.http,
      clock: systemClock,
      timeoutMs: target.timeoutMs,
    },
  );
  for (const r of results) {
    out(
      `${r.delivered ? 'delivered' : 'failed   '}  ${r.letter.eventId} -> ${r.letter.subscriptionId}  ${r.detail}`,
    );
  }
  const failed = results.filter((r) => !r.delivered).length;
  out(`${results.length - failed} delivered, ${failed} still failed`);
  return failed === 0 ? 0 : 1;
}

/** An ISO-8601 time (e.g. 2026-11-27T10:00:00Z) as ms, or a ConfigError naming the option. */
function timeOption(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new ConfigError('the command line', [
      { path: option, message: `not a time: ${value} (use ISO 8601)` },
    ]);
  }
  return time;
}

function awsOnly(target: Target) {
  if (!target.aws)
    throw new ConfigError('the command line', [
      { path: '--aws', message: 'this command needs --aws or --stack NAME' },
    ]);
  return target.aws;
}

async function subscriptions(target: Target): Promise<number> {
  const [, action, id] = positionals;
  if (action === 'enable') {
    const known = (await target.subscriptions()).some((s) => s.id === id);
    if (!id || !known) {
      process.stderr.write(`No subscription "${id ?? ''}".\n`);
      return 2;
    }
    await target.subscriptionStatus.enable(id);
    out(`Subscription ${id} enabled.`);
    return 0;
  }
  if (action === 'add') {
    const aws = awsOnly(target);
    const subscription = await subscriptionFromOptions(values, process.env, {
      prefix: aws.secretPrefix,
      resolve: (arn) => aws.secrets.resolve(arn),
    });
    await aws.subscriptions.put(subscription);
    out(`Subscription ${subscription.id} added: ${subscription.url}`);
    return 0;
  }
  if (action === 'remove') {
    if (!id) return usageError('subscriptions remove ID');
    await awsOnly(target).subscriptions.remove(id);
    out(`Subscription ${id} removed.`);
    return 0;
  }
  const listed = target.aws
    ? (await target.aws.subscriptions.stored()).map((s) => ({ id: s.id, url: s.url }))
    : await target.subscriptions();
  for (const s of listed) {
    const health = await target.subscriptionStatus.health(s.id);
    const state = health.disabledReason
      ? `disabled: ${health.disabledReason}`
      : health.failingSince !== undefined
        ? `enabled, failing since ${new Date(health.failingSince).toISOString()}`
        : 'enabled';
    out(`${s.id}  ${s.url}  ${state}`);
  }
  return 0;
}

async function accounts(target: Target): Promise<number> {
  const aws = awsOnly(target);
  const [, action, id] = positionals;
  if (action === 'add') {
    const account = await accountFromOptions(
      values,
      process.env,
      values['skip-check']
        ? undefined
        : {
            resolveSecret: (arn) => aws.secrets.resolve(arn),
            check: async (config) => {
              const report = await diagnoseAccount(config, { tokenStore: aws.oauth2Tokens });
              printReport(report);
              if (!report.ok)
                throw new ConfigError(`account ${config.id}`, [
                  { path: 'doctor', message: 'the checks above failed; nothing was stored' },
                ]);
            },
          },
      aws.secretPrefix,
    );
    await aws.accounts.put(account);
    out(
      `Account ${account.id} added (${account.user} at ${account.host}:${account.port}); the watcher picks it up within a minute.`,
    );
    return 0;
  }
  if (action === 'remove') {
    if (!id) return usageError('accounts remove ID');
    await aws.accounts.remove(id);
    out(
      `Account ${id} removed; its password secret is kept (delete it in Secrets Manager if no longer needed).`,
    );
    return 0;
  }
  for (const a of await aws.accounts.stored()) {
    out(`${a.id}  ${a.user}  ${a.host}:${a.port} (${a.security})  ${a.mailboxes.join(',')}`);
  }
  return 0;
}

async function doctor(): Promise<number> {
  const config = loadConfig(values.config);
  const accounts = config.accounts.filter((a) => !values.account || a.id === values.account);
  if (accounts.length === 0) {
    process.stderr.write(`No account "${values.account}" in ${values.config}.\n`);
    return 2;
  }
  const reports = [];
  const stores = openLocalStores(config.dataDir, systemClock);
  try {
    for (const account of accounts) {
      const report = await diagnoseAccount(account, { tokenStore: stores.oauth2Tokens });
      reports.push(report);
      if (!values.json) printReport(report, account);
    }
  } finally {
    stores.close();
  }
  if (values.json) out(JSON.stringify(reports, null, 2));
  return reports.every((r) => r.ok) ? 0 : 1;
}

function printReport(report: DoctorReport, account?: AccountConfig): void {
  out(
    account
      ? `${report.account} (${account.user} at ${account.host}:${account.port}, ${account.security})`
      : report.account,
  );
  for (const step of report.steps) {
    out(`  ${step.ok ? 'ok  ' : 'FAIL'}  ${step.name.padEnd(12)} ${step.summary}`);
    for (const warning of step.warnings ?? []) out(`        ${''.padEnd(12)} warning: ${warning}`);
    if (step.fix) out(`        ${''.padEnd(12)} fix: ${step.fix}`);
  }
  out(report.ok ? '  all checks passed' : '  stopped at the first failure');
}

function usageError(expected: string): number {
  process.stderr.write(`Usage: idlehook ${expected}\n`);
  return 2;
}

async function main(): Promise<number> {
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (!COMMANDS.has(command)) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (command === 'run') {
    await run();
    return -1; // keeps running until a signal
  }
  if (command === 'doctor') return doctor();
  const target =
    values.aws || values.stack ? await openAwsTarget(values.stack) : openLocalTarget(values.config);
  try {
    if (command === 'deliveries') return await deliveries(target);
    if (command === 'replay') return await replay(target);
    if (command === 'subscriptions') return await subscriptions(target);
    if (command === 'attempts') return await attempts(target);
    return await accounts(target);
  } finally {
    await target.close();
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 78; // EX_CONFIG
    } else {
      process.stderr.write(`idlehook: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
