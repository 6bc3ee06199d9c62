import { HttpTokenEndpoint } from '../../adapters/http/token-endpoint.js';
import { openLocalStores } from '../../adapters/local/local-stores.js';
import { createLogger } from '../../adapters/powertools-logger.js';
import { systemClock } from '../../adapters/system-clock.js';
import { limitHeapGrowth } from '../../compose/heap-growth.js';
import { exitOnUnexpectedErrors } from '../../compose/unexpected-errors.js';
import type { AccountConfig } from '../../config/config.js';
import { ConfigError, loadConfig } from '../../config/load-config.js';
import type { DoctorReport } from '../../domain/doctor-report.js';
import { errorMessage } from '../../domain/errors.js';
import { type Command, flag, type OptionValues, text } from '../command.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'watch the configured mailboxes and deliver webhooks',
  scope: 'local',
  async run({ values }) {
    const config = loadConfig(configFile(values));
    const logger = createLogger(config.logLevel);
    limitHeapGrowth();
    // Loaded here, not at the top: the other commands (deliveries, replay, ...) share this module's importer
    // and need neither IMAP nor parsing.
    const { startLocalBridge } = await import('../../compose/local/local-bridge.js');
    const starting = startLocalBridge(config, logger);
    let stopping = false;
    // Listening before the bridge has started: a SIGTERM during start-up (the HTTP port is open before the
    // watcher has its accounts) must still stop it cleanly, not kill it with the default action.
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      starting
        .then((bridge) => bridge.stop())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error('shutdown failed', { error: errorMessage(error) });
            process.exit(1);
          },
        );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    const bridge = await starting.catch((error: unknown) => {
      throw portInUse(error) ? busyPortError(configFile(values), config.http.port, error) : error;
    });
    exitOnUnexpectedErrors(logger, () => bridge.stop());
    return -1; // keeps running until a signal
  },
};

const configFile = (values: OptionValues) => text(values, 'config') ?? '';

const portInUse = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';

/** The loopback port is taken: most often by another idlehook on the same config. */
function busyPortError(file: string, port: number, cause: unknown): ConfigError {
  return new ConfigError(
    file,
    [
      {
        path: 'http.port',
        message:
          `127.0.0.1:${port} is in use. Another idlehook may be running with this config (stop it first: two ` +
          'bridges on one data directory would deliver everything twice), or another program holds the port: ' +
          'set http.port to a free one',
      },
    ],
    { cause },
  );
}

export const doctorCommand: Command = {
  name: 'doctor',
  synopsis: '[--account ID] [--json]',
  summary:
    "check each account's connection step by step (DNS, TCP, TLS/STARTTLS, one\n" +
    'login, capabilities, mailboxes) and say what to fix; exits 1 on a failure',
  scope: 'local',
  options: { account: { type: 'string' }, json: { type: 'boolean', default: false } },
  async run({ values, out }) {
    const file = configFile(values);
    const only = text(values, 'account');
    const config = loadConfig(file);
    const accounts = config.accounts.filter((a) => !only || a.id === only);
    if (accounts.length === 0) {
      process.stderr.write(
        only === undefined ? `No accounts in ${file}.\n` : `No account "${only}" in ${file}.\n`,
      );
      return 2;
    }
    const json = flag(values, 'json');
    const { diagnoseAccount } = await import('../../imap/doctor/doctor.js');
    const reports = [];
    const stores = openLocalStores(config.dataDir, systemClock);
    try {
      for (const account of accounts) {
        const source = config.credentialSources.get(account.id);
        const report = await diagnoseAccount(account, {
          tokenStore: stores.oauth2Tokens,
          tokenEndpoint: new HttpTokenEndpoint(),
          ...(source ? { credentialSource: source } : {}),
        });
        reports.push(report);
        if (!json) printReport(out, report, account);
      }
    } finally {
      stores.close();
    }
    if (json) out(JSON.stringify(reports, null, 2));
    return reports.every((r) => r.ok) ? 0 : 1;
  },
};

export function printReport(
  out: (line: string) => void,
  report: DoctorReport,
  account?: AccountConfig,
): void {
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
