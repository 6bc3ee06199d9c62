import { appendFileSync, chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { HttpTokenEndpoint } from '../../adapters/http/token-endpoint.js';
import { openLocalStores } from '../../adapters/local/local-stores.js';
import { systemClock } from '../../adapters/system-clock.js';
import { ConfigError, type ConfigProblem, parseConfig } from '../../config/load-config.js';
import { PROVIDER_NAMES } from '../../config/providers.js';
import { ownValue, recordOf } from '../../domain/null-prototype.js';
import { newWebhookSecret } from '../../domain/signing.js';
import type { TrustAnchor } from '../../imap/doctor/tls.js';
import { type Command, flag, type OptionValues, text } from '../command.js';
import { printReport, runCommand } from './local.js';
import { queueMessage, sampleMessage } from './trigger.js';

/** Where `idlehook listen` receives by default: the webhook URL a first run without a receiver of its own uses. */
const LISTEN_URL = 'http://127.0.0.1:7466/';
/** Beside the config, not `.env`: an application's own `.env` in the same folder is left alone. */
const ENV_FILE = 'idlehook.env';

const VARIABLES = {
  password: 'IDLEHOOK_IMAP_PASSWORD',
  refreshToken: 'IDLEHOOK_OAUTH2_REFRESH_TOKEN',
  clientSecret: 'IDLEHOOK_OAUTH2_CLIENT_SECRET',
  webhookSecret: 'IDLEHOOK_WEBHOOK_SECRET',
} as const;

/** Questions on the terminal (or on piped standard input); what the user types for a secret is not echoed. */
interface Prompter {
  ask(question: string, secret?: boolean): Promise<string | undefined>;
  close(): void;
}

function terminalPrompter(): Prompter {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const lines = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY === true });
  const answers = lines[Symbol.asyncIterator]();
  return {
    async ask(question, secret = false) {
      process.stdout.write(question);
      muted = secret;
      const next = await answers.next();
      muted = false;
      if (secret && process.stdin.isTTY) process.stdout.write('\n');
      return next.done ? undefined : String(next.value);
    },
    close: () => lines.close(),
  };
}

/** The answers: from an option where one was given, else from a question (opened on the first one). */
class Answers {
  private prompter: Prompter | undefined;

  constructor(private readonly values: OptionValues) {}

  /** The option's value, or the answer to `question`; an empty answer stands for `fallback`. */
  async get(option: string, question: string, fallback = '', required = false): Promise<string> {
    const answer = text(this.values, option) ?? (await this.ask(question, fallback, false));
    if (answer === '' && required) throw missing(option, 'required');
    return answer;
  }

  /** The value of the environment variable the option names, or an answer typed without echo. */
  async secret(option: string, question: string, optional = false): Promise<string | undefined> {
    const variable = text(this.values, option);
    if (variable !== undefined) {
      const value = ownValue(process.env, variable);
      if (!value) throw missing(option, `${variable} is not set`);
      return value;
    }
    const answer = await this.ask(question, '', true);
    if (answer === '' && !optional) throw missing(option, 'required');
    return answer === '' ? undefined : answer;
  }

  /** Asks on the terminal. When standard input has ended, every later question gets its empty answer. */
  async ask(question: string, fallback: string, secret: boolean): Promise<string> {
    this.prompter ??= terminalPrompter();
    const answer =
      (await this.prompter.ask(`${question}${fallback ? ` [${fallback}]` : ''}: `, secret)) ?? '';
    const trimmed = secret ? answer : answer.trim();
    return trimmed === '' ? fallback : trimmed;
  }

  close(): void {
    this.prompter?.close();
  }
}

const missing = (option: string, message: string) =>
  new ConfigError('idlehook init', [{ path: `--${option}`, message }]);

interface SecretReference {
  readonly env: string;
}

/** The account as init writes it into the config. */
interface AccountDocument {
  readonly id: string;
  readonly provider?: string;
  readonly host?: string;
  readonly port?: number;
  readonly security?: string;
  readonly user: string;
  readonly tls?: { readonly ca: string };
  readonly password?: SecretReference;
  readonly oauth2?: {
    readonly clientId: string;
    readonly tokenUrl?: string;
    readonly clientSecret?: SecretReference;
    readonly refreshToken: SecretReference;
  };
}

/** `NAME='value'` lines that Node's parseEnv (and dotenv) read back unchanged. */
function envFileText(values: ReadonlyMap<string, string>): string {
  const lines = ['# Secrets for idlehook.config.json, written by idlehook init. Keep this file private.'];
  for (const [name, value] of values) {
    const quote = ["'", '"', '`'].find((q) => !value.includes(q));
    if (!quote || value.includes('\n'))
      throw new ConfigError('idlehook init', [
        {
          path: name,
          message: 'contains a line break or all three quote characters: set it in the environment instead',
        },
      ]);
    lines.push(`${name}=${quote}${value}${quote}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An account id from the user name: its local part, in the characters ids allow. */
function accountIdFor(user: string): string {
  const local = (user.split('@')[0] ?? '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  return local.replace(/^[^a-z0-9]+/, '').slice(0, 64) || 'mail';
}

/** The account's part of the config (its secrets go into `secrets`); undefined when there is none to add yet. */
async function askAccount(
  answers: Answers,
  values: OptionValues,
  secrets: Map<string, string>,
): Promise<AccountDocument | undefined> {
  if (flag(values, 'no-account')) return undefined;
  const where = await answers.get(
    text(values, 'provider') !== undefined ? 'provider' : 'host',
    `Mail account: a provider (${PROVIDER_NAMES.join(', ')}), an IMAP host, or Enter for none yet`,
  );
  if (where === '') return undefined;
  const isProvider = (PROVIDER_NAMES as readonly string[]).includes(where);
  let server: Pick<AccountDocument, 'provider' | 'host' | 'port' | 'security'> = { provider: where };
  if (!isProvider) {
    const port = Number(await answers.get('port', 'IMAP port (993: TLS, 143: STARTTLS)', '993'));
    const security = await answers.get(
      'security',
      'Security: tls, starttls or none',
      port === 143 ? 'starttls' : 'tls',
    );
    server = { host: where, port, security };
  }
  const user = await answers.get('user', 'User name (usually the address)', '', true);
  const ca = text(values, 'ca');
  const account = {
    id: text(values, 'id') ?? accountIdFor(user),
    ...server,
    user,
    ...(ca === undefined ? {} : { tls: { ca: resolve(ca) } }),
  };
  const clientId =
    text(values, 'oauth2-client-id') ??
    (text(values, 'password-env') === undefined
      ? await answers.ask('Sign in with a password (Enter) or OAuth2 (its client id)', '', false)
      : '');
  if (clientId === '') {
    secrets.set(
      VARIABLES.password,
      (await answers.secret('password-env', 'Password (or app password)')) ?? '',
    );
    return { ...account, password: { env: VARIABLES.password } };
  }
  const tokenUrl = isProvider
    ? undefined
    : await answers.get('oauth2-token-url', 'OAuth2 token URL', '', true);
  const clientSecret = await answers.secret(
    'oauth2-client-secret-env',
    'OAuth2 client secret (Enter: none)',
    true,
  );
  if (clientSecret !== undefined) secrets.set(VARIABLES.clientSecret, clientSecret);
  secrets.set(
    VARIABLES.refreshToken,
    (await answers.secret('oauth2-refresh-token-env', 'OAuth2 refresh token')) ?? '',
  );
  return {
    ...account,
    oauth2: {
      clientId,
      ...(tokenUrl ? { tokenUrl } : {}),
      ...(clientSecret === undefined ? {} : { clientSecret: { env: VARIABLES.clientSecret } }),
      refreshToken: { env: VARIABLES.refreshToken },
    },
  };
}

/**
 * Writes a working config from a few questions: the account (checked by the doctor before anything is written),
 * the webhook URL and its signing secret. Secrets go to `idlehook.env` (0600), which the config names as its
 * `envFile`. Every question can be answered by an option instead, for scripts.
 */
export const initCommand: Command = {
  name: 'init',
  synopsis:
    '[--provider NAME | --host HOST [--port N] [--security tls|starttls|none] | --no-account]\n' +
    '               [--user USER] [--password-env NAME | --oauth2-client-id ID --oauth2-refresh-token-env NAME]\n' +
    '               [--url URL] [--secret-env NAME] [--ca FILE | --trust-certificate SHA256] [--skip-check]\n' +
    '               [--force] [--run]',
  summary:
    'write the config from a few questions (the doctor checks the account first;\n' +
    `secrets go to ${ENV_FILE}); --run then starts the bridge`,
  scope: 'local',
  options: {
    provider: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    security: { type: 'string' },
    user: { type: 'string' },
    id: { type: 'string' },
    ca: { type: 'string' },
    'password-env': { type: 'string' },
    'oauth2-client-id': { type: 'string' },
    'oauth2-token-url': { type: 'string' },
    'oauth2-refresh-token-env': { type: 'string' },
    'oauth2-client-secret-env': { type: 'string' },
    'no-account': { type: 'boolean', default: false },
    url: { type: 'string' },
    'secret-env': { type: 'string' },
    'skip-check': { type: 'boolean', default: false },
    'trust-certificate': { type: 'string' },
    force: { type: 'boolean', default: false },
    run: { type: 'boolean', default: false },
  },
  async run(context) {
    const { values, out } = context;
    const file = resolve(text(values, 'config') ?? '');
    const envPath = resolve(dirname(file), ENV_FILE);
    const existing = [file, envPath].filter((path) => existsSync(path));
    if (existing.length > 0 && !flag(values, 'force')) {
      // Not a configuration problem: the configuration is there, and init does not replace it unasked.
      process.stderr.write(
        `${existing.join(' and ')} ${existing.length > 1 ? 'exist' : 'exists'} already: idlehook init does not replace ${existing.length > 1 ? 'them' : 'it'} without --force (or write elsewhere with --config FILE).\n`,
      );
      return 78; // EX_CONFIG, as before: scripts may tell this case apart
    }

    const answers = new Answers(values);
    const secrets = new Map<string, string>();
    let document: {
      readonly envFile: string;
      readonly accounts: AccountDocument[];
      readonly subscriptions: unknown[];
    };
    let url: string;
    try {
      const account = await askAccount(answers, values, secrets);
      url = await answers.get('url', 'Webhook URL (Enter: idlehook listen on this machine)', LISTEN_URL);
      const webhookSecret =
        (await answers.secret(
          'secret-env',
          url === LISTEN_URL
            ? 'Signing secret (Enter: make one; idlehook listen reads it from the config)'
            : `Signing secret: the whsec_... your endpoint verifies with, or Enter to make one (kept in ${ENV_FILE})`,
          true,
        )) ?? newWebhookSecret();
      secrets.set(VARIABLES.webhookSecret, webhookSecret);
      document = {
        envFile: ENV_FILE,
        accounts: account ? [account] : [],
        subscriptions: [
          { id: url === LISTEN_URL ? 'listen' : 'webhook', url, secret: { env: VARIABLES.webhookSecret } },
        ],
      };
    } catch (error) {
      answers.close();
      throw error;
    }

    // Checked as `run` will read it, with the secrets in place of the file that is not written yet.
    const env: NodeJS.ProcessEnv = recordOf([...secrets]);
    const parsed = () => {
      const { envFile: _notYetWritten, ...checked } = document;
      return parseConfig(checked, { source: 'idlehook init', baseDir: dirname(file), env });
    };
    let config = parsed();
    const stores = openLocalStores(config.dataDir, systemClock);
    try {
      const { diagnoseAccount } = await import('../../imap/doctor/doctor.js');
      const check = async (account: (typeof config.accounts)[number]) => {
        const source = config.credentialSources.get(account.id);
        const report = await diagnoseAccount(account, {
          tokenStore: stores.oauth2Tokens,
          tokenEndpoint: new HttpTokenEndpoint(),
          ...(source ? { credentialSource: source } : {}),
        });
        printReport(out, report, account);
        return report;
      };
      for (const account of flag(values, 'skip-check') ? [] : config.accounts) {
        let report = await check(account);
        // A server with a self-signed certificate (or a private CA) is common on a company's own network: offer to
        // trust what it presented, fingerprint shown, rather than send the user off to find a CA file.
        const anchor = report.steps.find((step) => !step.ok)?.details?.trustAnchor as TrustAnchor | undefined;
        if (!report.ok && anchor) {
          const given = text(values, 'trust-certificate');
          // An option is written before the server is seen: only the fingerprint it names may be trusted ("yes"
          // there would trust whatever certificate an attacker in the path presents).
          if (given !== undefined && !sameFingerprint(given, anchor.sha256))
            throw missing(
              'trust-certificate',
              `the server presents the certificate with SHA-256 ${anchor.sha256}, not ${given}: pass that ` +
                "fingerprint if it is your server's (only a fingerprint counts in the option)",
            );
          const answer =
            given ??
            (await answers.ask(
              `The server presents a certificate no CA here vouches for: ${anchor.subject}, SHA-256 ${anchor.sha256}.\n` +
                "Trust it, if that fingerprint is your server's? (yes, or its fingerprint; Enter: no)",
              'no',
              false,
            ));
          if (/^y(es)?$/i.test(answer.trim()) || sameFingerprint(answer, anchor.sha256)) {
            const caFile = join(dirname(file), `${account.id}-ca.pem`);
            writeFileSync(caFile, anchor.pem);
            document = {
              ...document,
              accounts: document.accounts.map((a) =>
                a.id === account.id ? { ...a, tls: { ca: caFile } } : a,
              ),
            };
            config = parsed();
            out(`Saved the certificate as ${caFile}; checking again with it as the account's CA.`);
            const trusted = config.accounts.find((a) => a.id === account.id);
            if (trusted) report = await check(trusted);
          }
        }
        if (!report.ok) {
          const problem: ConfigProblem = {
            path: 'account',
            message: 'the checks above failed; nothing was written',
          };
          throw new ConfigError('idlehook init', [problem]);
        }
      }
      writeFileSync(envPath, envFileText(secrets), { mode: 0o600 });
      chmodSync(envPath, 0o600); // a file replaced with --force keeps its mode otherwise
      writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
      out(`Wrote ${file} and ${envPath} (the secrets; readable by you only).`);
      out(keptOutOfGit(dirname(file), [basename(file), ENV_FILE, config.dataDir]));
      // With no mailbox to wait for, the first run has something to deliver. A receiver on this machine that is
      // not running yet (the quick start starts `listen` after this) gets it as soon as it answers.
      if (config.accounts.length === 0) {
        const eventId = await queueMessage(stores, sampleMessage(new Date()), 'sample');
        out(
          url === LISTEN_URL
            ? `Queued a sample message (${eventId}): the bridge delivers it once \`npx idlehook listen\` runs.`
            : `Queued a sample message (${eventId}): the bridge delivers it when it starts.`,
        );
      }
    } finally {
      answers.close();
      stores.close();
    }
    const name = basename(file) === 'idlehook.config.json' ? '' : ` --config ${file}`;
    const listenToo =
      'in another terminal, npx idlehook listen: it verifies each webhook with the secret in the config.';
    if (flag(values, 'run')) {
      if (url === LISTEN_URL) out(`Now run, ${listenToo}`);
      return runCommand.run(context);
    }
    out(`Next: npx idlehook run${name}`);
    if (url === LISTEN_URL) out(`and, ${listenToo}`);
    return 0;
  },
};

/**
 * Adds the files that hold secrets (and the data folder: mail, tokens) to the nearest .gitignore, from `dir` up to
 * the repository's root, unless listed there already; says what it did, or what to do where it found none.
 */
function keptOutOfGit(dir: string, paths: readonly string[]): string {
  for (let at = dir; ; at = dirname(at)) {
    const ignore = join(at, '.gitignore');
    if (existsSync(ignore)) {
      const listed = new Set(
        readFileSync(ignore, 'utf8')
          .split('\n')
          .map((line) => line.trim()),
      );
      const entries = paths
        .map((path) => {
          const entry = relative(at, resolve(dir, path)).split(sep).join('/');
          return statSync(resolve(dir, path), { throwIfNoEntry: false })?.isDirectory() ? `${entry}/` : entry;
        })
        .filter((entry) => !ignoredBy(listed, entry));
      if (entries.length === 0) return `${ignore} already keeps them out of git.`;
      const text = readFileSync(ignore, 'utf8');
      appendFileSync(ignore, `${text === '' || text.endsWith('\n') ? '' : '\n'}${entries.join('\n')}\n`);
      return `Added ${entries.join(', ')} to ${ignore}: they hold secrets.`;
    }
    if (existsSync(join(at, '.git')) || dirname(at) === at)
      return `They hold secrets: keep ${paths.join(', ')} out of version control (no .gitignore found).`;
  }
}

/**
 * Whether a .gitignore's lines cover `entry` (a path from its folder; a folder ends in "/"), as far as an exact
 * line goes: the path itself (anchored or not), or its last name where the line has no slash inside, which git
 * matches at any depth.
 */
function ignoredBy(lines: ReadonlySet<string>, entry: string): boolean {
  const path = entry.replace(/\/$/, '');
  const name = path.split('/').at(-1) ?? path;
  return [path, `/${path}`, `${path}/`, `/${path}/`, name, `${name}/`].some((line) => lines.has(line));
}

/** Whether two SHA-256 fingerprints are the same, colons, spaces and case aside. */
function sameFingerprint(given: string, sha256: string): boolean {
  const normalized = (text: string) => text.replaceAll(/[:\s]/g, '').toLowerCase();
  return normalized(given) === normalized(sha256);
}
