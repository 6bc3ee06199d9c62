import type { ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/load-config.js';
import { recordOf } from '../domain/null-prototype.js';
import type { Target } from './targets.js';

/** Where a command works: on the local config, on a deployed stack, or on either. */
export type CommandScope = 'local' | 'both' | 'aws';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string];
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandContext {
  /** Every option given, by long name. */
  readonly values: OptionValues;
  /** What follows the command's name (an id, usually). */
  readonly args: readonly string[];
  /** The local or AWS state the command reads and changes, opened on first use and closed after the command. */
  readonly target: () => Promise<Target>;
  readonly out: (line: string) => void;
  readonly usageError: (expected: string) => number;
}

/** One CLI command: the table in main.ts dispatches on `name` and prints the usage from these fields. */
export interface Command {
  /** One word, or a word and an action ("subscriptions add"). */
  readonly name: string;
  /** The arguments and options after the name, as the usage shows them. */
  readonly synopsis?: string;
  readonly summary: string;
  readonly scope: CommandScope;
  /** The options this command reads, besides the global ones. */
  readonly options?: Readonly<Record<string, OptionSpec>>; // trusted key: option names in code
  /** The exit code; -1 keeps the process running (the bridge). */
  run(context: CommandContext): Promise<number>;
}

/** Options every command accepts: where its state is. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string', default: './idlehook.config.json' },
  aws: { type: 'boolean', default: false },
  stack: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
} satisfies Readonly<Record<string, OptionSpec>>;

/** A string option's value (parseArgs gives strings for `type: 'string'`). */
export function text(values: OptionValues, name: string): string | undefined {
  const value = values[name]; // trusted key: option names in code
  return typeof value === 'string' ? value : undefined;
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true; // trusted key: option names in code
}

/** The string options among `names`, for the functions that take them as one object. */
export function stringOptions(
  values: OptionValues,
  names: readonly string[],
): Record<string, string | undefined> {
  return recordOf(
    names.map((name) => {
      const value = values[name]; // trusted key: option names in code
      return [name, typeof value === 'string' ? value : undefined] as const;
    }),
  );
}

/** An AWS-only command on one id ("accounts remove ID"): `act` does it and says what it did. */
export function awsIdCommand(
  name: string,
  summary: string,
  /** What was done, or `{ missing }`: nothing has that id (printed to stderr, exit 1). */
  act: (aws: NonNullable<Target['aws']>, id: string) => Promise<string | { readonly missing: string }>,
): Command {
  return {
    name,
    synopsis: 'ID',
    summary,
    scope: 'aws',
    async run({ args, target, out, usageError }) {
      const [id] = args;
      if (!id) return usageError(`${name} ID`);
      const done = await act(awsOnly(await target()), id);
      if (typeof done === 'string') {
        out(done);
        return 0;
      }
      process.stderr.write(`${done.missing}\n`);
      return 1;
    },
  };
}

/** The directory the management API writes through, over the CLI's own clients: one write path for both. */
export async function directoryOf(aws: NonNullable<Target['aws']>) {
  const { awsDirectory } = await import('../compose/aws/aws-management-backend.js');
  return awsDirectory(aws);
}

/** Says why an add (the id is taken) or a replace (there is none) through the directory wrote nothing. */
export function refusedWrite(kind: 'account' | 'subscription', id: string, replace: boolean): number {
  process.stderr.write(
    replace
      ? `No ${kind} ${id} to replace: add it without --replace.\n`
      : `${kind === 'account' ? 'An' : 'A'} ${kind} with id ${id} exists: pass --replace to change it, or remove it first.\n`,
  );
  return 1;
}

export function awsOnly(target: Target): NonNullable<Target['aws']> {
  if (!target.aws)
    throw new ConfigError('the command line', [
      { path: '--aws', message: 'this command needs --aws or --stack NAME' },
    ]);
  return target.aws;
}

const SECTIONS: readonly { readonly scope: CommandScope; readonly title: string }[] = [
  { scope: 'local', title: 'Local mode (--config FILE, default ./idlehook.config.json):' },
  { scope: 'both', title: 'Local mode and AWS mode:' },
  {
    scope: 'aws',
    title: "AWS mode only (--stack NAME reads the stack's outputs; --aws reads IDLEHOOK_* variables):",
  },
];

const SUMMARY_COLUMN = 32;

/** The usage text, generated from the command table. */
export function usageOf(commands: readonly Command[]): string {
  const lines = ['Usage: idlehook <command> [--config FILE | --aws | --stack NAME] [options]'];
  for (const section of SECTIONS) {
    lines.push('', section.title);
    for (const command of commands.filter((c) => c.scope === section.scope)) {
      const head = `  ${command.name}${command.synopsis ? ` ${command.synopsis}` : ''}`;
      const summary = command.summary.split('\n');
      if (head.length < SUMMARY_COLUMN && !head.includes('\n')) {
        lines.push(`${head.padEnd(SUMMARY_COLUMN)}${summary[0]}`.trimEnd());
        summary.shift();
      } else {
        lines.push(head);
      }
      for (const rest of summary) lines.push(`${''.padEnd(SUMMARY_COLUMN)}${rest}`);
    }
  }
  lines.push(
    '',
    'Secrets given with --password-env / --secret-env are stored in Secrets Manager as idlehook/<stack>/<kind>/<id>.',
    '',
  );
  return lines.join('\n');
}

/** One command's usage, for `idlehook <command> --help`: its synopsis, what it does, and where it works. */
export function commandUsageOf(command: Command): string {
  const where = SECTIONS.find((section) => section.scope === command.scope)?.title ?? '';
  return [
    `Usage: idlehook ${command.name}${command.synopsis ? ` ${command.synopsis}` : ''}`,
    '',
    command.summary,
    '',
    where,
    '',
  ].join('\n');
}

/** The command named by the first words: "subscriptions add ..." before "subscriptions ...". */
export function findCommand(
  commands: readonly Command[],
  words: readonly string[],
): { readonly command: Command; readonly args: readonly string[] } | undefined {
  const [first, second] = words;
  const withAction = commands.find((c) => second !== undefined && c.name === `${first} ${second}`);
  if (withAction) return { command: withAction, args: words.slice(2) };
  const single = commands.find((c) => c.name === first);
  return single ? { command: single, args: words.slice(1) } : undefined;
}
