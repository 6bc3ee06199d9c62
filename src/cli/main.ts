import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load-config.js';
import {
  type Command,
  commandUsageOf,
  findCommand,
  flag,
  GLOBAL_OPTIONS,
  type OptionValues,
  text,
  usageOf,
} from './command.js';
import {
  addAccountCommand,
  listAccountsCommand,
  removeAccountCommand,
  sealAccountsCommand,
} from './commands/accounts.js';
import { attemptsCommand, deliveriesCommand, replayCommand } from './commands/deliveries.js';
import { initCommand } from './commands/init.js';
import { resetLeasesCommand } from './commands/leases.js';
import { listenCommand } from './commands/listen.js';
import { doctorCommand, runCommand } from './commands/local.js';
import {
  addSubscriptionCommand,
  enableSubscriptionCommand,
  listSubscriptionsCommand,
  removeSubscriptionCommand,
  retrySubscriptionCommand,
} from './commands/subscriptions.js';
import {
  createTokenCommand,
  dashboardCommand,
  listTokensCommand,
  revokeTokenCommand,
} from './commands/tokens.js';
import { triggerCommand } from './commands/trigger.js';
import type { Target } from './targets.js';

/** Every command, in the order the usage lists them. */
const COMMANDS: readonly Command[] = [
  initCommand,
  runCommand,
  doctorCommand,
  listenCommand,
  triggerCommand,
  createTokenCommand,
  listTokensCommand,
  revokeTokenCommand,
  dashboardCommand,
  deliveriesCommand,
  replayCommand,
  listSubscriptionsCommand,
  enableSubscriptionCommand,
  retrySubscriptionCommand,
  attemptsCommand,
  addAccountCommand,
  listAccountsCommand,
  removeAccountCommand,
  sealAccountsCommand,
  addSubscriptionCommand,
  removeSubscriptionCommand,
  resetLeasesCommand,
];

const USAGE = usageOf(COMMANDS);

const out = (line: string) => process.stdout.write(`${line}\n`);

function usageError(expected: string): number {
  process.stderr.write(`Usage: idlehook ${expected}\n`);
  return 2;
}

/** Set by the build from package.json (scripts/build.js); absent when the source runs unbundled. */
declare const IDLEHOOK_VERSION: string | undefined;

async function main(): Promise<number> {
  const parsed = parseArgs({
    allowPositionals: true,
    tokens: true,
    options: Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((command) => command.options ?? {})),
  });
  const { positionals, tokens } = parsed;
  const found = findCommand(COMMANDS, positionals);
  if (flag(parsed.values as OptionValues, 'version')) {
    out(typeof IDLEHOOK_VERSION === 'string' ? IDLEHOOK_VERSION : 'unbundled (run npm run build)');
    return 0;
  }
  // Every option is declared without `multiple`: each value is one string or boolean.
  const help = flag(parsed.values as OptionValues, 'help');
  if (help && found) {
    process.stdout.write(commandUsageOf(found.command));
    return 0;
  }
  if (help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return help ? 0 : 2;
  }
  if (!found) {
    process.stderr.write(`Unknown command "${positionals[0]}".\n\n${USAGE}`);
    return 2;
  }
  const { command, args } = found;
  const foreign = tokens
    .filter((token) => token.kind === 'option')
    .map((token) => token.name)
    .filter((name) => !Object.hasOwn(GLOBAL_OPTIONS, name) && !Object.hasOwn(command.options ?? {}, name));
  if (foreign.length > 0) {
    throw new ConfigError('the command line', [
      { path: `--${foreign[0]}`, message: `is not an option of "idlehook ${command.name}"` },
    ]);
  }
  // Parsed again with this command's options alone: two commands may declare one name with different defaults
  // (`listen --port` defaults to 7466, `accounts add --port` to the security's port).
  const values = parseArgs({
    allowPositionals: true,
    options: Object.assign({}, GLOBAL_OPTIONS, command.options ?? {}),
  }).values as OptionValues;
  let opened: Promise<Target> | undefined;
  const target = () => {
    const stack = text(values, 'stack');
    // Imported on demand: `run` opens no target, and local mode never loads the AWS SDK.
    opened ??=
      flag(values, 'aws') || stack
        ? import('./aws-target.js').then(({ openAwsTarget }) => openAwsTarget(stack))
        : import('./targets.js').then(({ openLocalTarget }) => openLocalTarget(text(values, 'config') ?? ''));
    return opened;
  };
  try {
    return await command.run({ values, args, target, out, usageError });
  } finally {
    if (opened) await (await opened).close();
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 78; // EX_CONFIG
    } else if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      // node:util's own wording names the option; the usage is one command away.
      process.stderr.write(`idlehook: ${message.replace(/\. To specify.*$/s, '.')} (see idlehook --help)\n`);
      process.exitCode = 2;
    } else {
      // One line a user can act on; the stack (minified in the bundle) only when asked for.
      const hint = awsHint(error);
      process.stderr.write(
        `idlehook: ${message}${hint ? ` (${hint})` : ''}\n` +
          (process.env.IDLEHOOK_DEBUG ? `${(error as Error).stack ?? ''}\n` : ''),
      );
      process.exitCode = 1;
    }
  },
);

/** What to set when the AWS SDK could not find a region or credentials (AWS commands, `--stack`, `--aws`). */
function awsHint(error: unknown): string | undefined {
  const name = (error as { name?: unknown }).name;
  const message = error instanceof Error ? error.message : '';
  if (name === 'CredentialsProviderError' || /credential/i.test(message))
    return 'AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  if (/region/i.test(message)) return 'set AWS_REGION to the stack’s region';
  return undefined;
}
