import { parseArgs } from 'node:util';
import { UndiciHttpSender } from '../adapters/http/undici-http-sender.js';
import { openLocalStores } from '../adapters/local/local-stores.js';
import { createLogger } from '../adapters/powertools-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import type { Config } from '../config/config.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { replayDeadLetters } from '../pipeline/replay.js';
import { startLocalBridge } from '../runtime/local-bridge.js';

const USAGE = `Usage: idlehook <command> --config FILE [options]

Commands:
  run                         watch the configured mailboxes and deliver webhooks (local mode)
  deliveries --failed         list dead-lettered deliveries [--json]
  replay                      send dead-lettered deliveries again [--event ID] [--subscription ID]
  subscriptions               list subscriptions and whether they are enabled
  subscriptions enable ID     re-enable a subscription disabled by a 410 Gone

Options:
  --config FILE               configuration file (default ./idlehook.config.json)
`;

const COMMANDS = new Set(['run', 'deliveries', 'replay', 'subscriptions']);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: './idlehook.config.json' },
    failed: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    event: { type: 'string' },
    subscription: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

async function run(config: Config): Promise<void> {
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
        logger.error('shutdown failed', { error: (error as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function listFailed(config: Config): Promise<void> {
  const stores = openLocalStores(config.dataDir, systemClock);
  const { state } = stores;
  const letters = await state.listDeadLetters();
  stores.close();
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify(
        letters.map(({ body: _body, ...rest }) => rest),
        null,
        2,
      )}\n`,
    );
    return;
  }
  if (letters.length === 0) {
    process.stdout.write('No failed deliveries.\n');
    return;
  }
  for (const l of letters) {
    process.stdout.write(
      `${new Date(l.failedAt).toISOString()}  ${l.eventId}  ${l.eventType}  -> ${l.subscriptionId}  ` +
        `attempts=${l.attempts}  ${l.reason}\n`,
    );
  }
}

async function replay(config: Config): Promise<number> {
  const stores = openLocalStores(config.dataDir, systemClock);
  const { state } = stores;
  const http = new UndiciHttpSender();
  try {
    const results = await replayDeadLetters(
      { eventId: values.event, subscriptionId: values.subscription },
      {
        log: state,
        subscriptionStatus: state,
        subscriptions: new Map(config.subscriptions.map((s) => [s.id, s])),
        http,
        clock: systemClock,
        timeoutMs: config.delivery.timeoutSeconds * 1000,
      },
    );
    for (const r of results) {
      process.stdout.write(
        `${r.delivered ? 'delivered' : 'failed   '}  ${r.letter.eventId} -> ${r.letter.subscriptionId}  ${r.detail}\n`,
      );
    }
    const failed = results.filter((r) => !r.delivered).length;
    process.stdout.write(`${results.length - failed} delivered, ${failed} still failed\n`);
    return failed === 0 ? 0 : 1;
  } finally {
    await http.close();
    stores.close();
  }
}

async function subscriptions(config: Config): Promise<number> {
  const stores = openLocalStores(config.dataDir, systemClock);
  const { state } = stores;
  try {
    if (positionals[1] === 'enable') {
      const id = positionals[2];
      if (!id || !config.subscriptions.some((s) => s.id === id)) {
        process.stderr.write(`No subscription "${id ?? ''}" in the configuration.\n`);
        return 2;
      }
      await state.enable(id);
      process.stdout.write(`Subscription ${id} enabled.\n`);
      return 0;
    }
    for (const s of config.subscriptions) {
      const disabled = await state.disabledReason(s.id);
      process.stdout.write(`${s.id}  ${s.url}  ${disabled ? `disabled: ${disabled}` : 'enabled'}\n`);
    }
    return 0;
  } finally {
    stores.close();
  }
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
  const config = loadConfig(values.config);
  switch (command) {
    case 'run':
      await run(config);
      return -1; // keeps running until a signal
    case 'deliveries':
      if (!values.failed) {
        process.stderr.write('Only `idlehook deliveries --failed` is available in local mode.\n');
        return 2;
      }
      await listFailed(config);
      return 0;
    case 'replay':
      return replay(config);
    case 'subscriptions':
      return subscriptions(config);
    default:
      return 2;
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
