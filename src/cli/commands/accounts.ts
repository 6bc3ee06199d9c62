import { HttpTokenEndpoint } from '../../adapters/http/token-endpoint.js';
import { ConfigError } from '../../config/load-config.js';
import {
  awsIdCommand,
  awsOnly,
  type Command,
  directoryOf,
  flag,
  refusedWrite,
  stringOptions,
} from '../command.js';
import { printReport } from './local.js';

export const listAccountsCommand: Command = {
  name: 'accounts',
  synopsis: 'list',
  summary: 'list the accounts the watcher watches',
  scope: 'aws',
  async run({ target: openTarget, out }) {
    const target = await openTarget();
    for (const a of await awsOnly(target).accounts.stored()) {
      out(`${a.id}  ${a.user}  ${a.host}:${a.port} (${a.security})  ${a.mailboxes.join(',')}`);
    }
    return 0;
  },
};

const ADD_OPTIONS = {
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
  provider: { type: 'string' },
  'oauth2-client-id': { type: 'string' },
  'oauth2-token-url': { type: 'string' },
  'oauth2-scope': { type: 'string' },
  'oauth2-refresh-token-env': { type: 'string' },
  'oauth2-client-secret-env': { type: 'string' },
} as const;

export const addAccountCommand: Command = {
  name: 'accounts add',
  synopsis:
    '--id ID (--host HOST | --provider gmail|outlook|icloud|yahoo|fastmail) --user USER\n' +
    '               (--password-env NAME | --password-secret-arn ARN |\n' +
    '                --oauth2-client-id ID --oauth2-refresh-token-env NAME [--oauth2-client-secret-env NAME]\n' +
    '                [--oauth2-token-url URL] [--oauth2-scope SCOPE])\n' +
    '               [--port N] [--security tls|starttls] [--mailboxes INBOX,Support,*] [--initial-sync new|all]\n' +
    '               [--ca FILE] [--servername NAME] [--skip-check] [--replace]',
  summary:
    "(runs the doctor's checks first and stores nothing if they fail; an existing id is refused unless --replace)",
  scope: 'aws',
  options: {
    ...ADD_OPTIONS,
    'skip-check': { type: 'boolean', default: false },
    replace: { type: 'boolean', default: false },
  },
  async run({ values, target, out }) {
    const aws = awsOnly(await target());
    const replace = flag(values, 'replace');
    const { accountFromOptions } = await import('../aws-management.js');
    const { account, byArn } = await accountFromOptions(
      stringOptions(values, Object.keys(ADD_OPTIONS)),
      process.env,
      flag(values, 'skip-check')
        ? undefined
        : {
            resolveSecret: (arn) => aws.secrets.resolve(arn),
            check: async (config) => {
              const { diagnoseAccount } = await import('../../imap/doctor/doctor.js');
              const report = await diagnoseAccount(config, {
                tokenStore: aws.oauth2Tokens,
                tokenEndpoint: new HttpTokenEndpoint(),
              });
              printReport(out, report);
              if (!report.ok)
                throw new ConfigError(`account ${config.id}`, [
                  { path: 'doctor', message: 'the checks above failed; nothing was stored' },
                ]);
            },
          },
    );
    // The API's write path: the same checks, sealing and secret handling as POST and PATCH /v1/accounts.
    const directory = await directoryOf(aws);
    const written = replace
      ? await directory.replaceAccount(undefined, account, byArn)
      : await directory.addAccount(undefined, account, byArn);
    if (!written) return refusedWrite('account', account.id, replace);
    out(
      `Account ${account.id} ${replace ? 'replaced' : 'added'} (${account.user} at ${account.host}:${account.port}); the watcher picks it up within seconds.`,
    );
    return 0;
  },
};

export const removeAccountCommand = awsIdCommand(
  'accounts remove',
  "stop watching an account; its sealed credentials go with it, and a secret idlehook made for it is deleted (an operator's, passed by ARN, is kept)",
  async (aws, id) => {
    const directory = await directoryOf(aws);
    const before = await aws.accounts.current(id);
    if ((await directory.removeAccount(id)) === 'not-found') return { missing: `No account ${id}.` };
    const secret = before?.passwordSecretArn ?? before?.oauth2?.secretArn;
    if (!secret) return `Account ${id} removed, with its sealed credentials.`;
    return directory.madeSecret('accounts', id, secret)
      ? `Account ${id} removed; its secret ${secret} is scheduled for deletion (recoverable for 7 days).`
      : `Account ${id} removed; the secret it named is kept (delete ${secret} in Secrets Manager if no longer needed).`;
  },
);

export const sealAccountsCommand: Command = {
  name: 'accounts seal',
  synopsis: '',
  summary:
    'bring accounts stored by earlier versions up to date: credentials sealed into the table (their secrets deleted), every account filed under its shard',
  scope: 'aws',
  async run({ target, out }) {
    const aws = awsOnly(await target());
    const directory = await directoryOf(aws);
    // Only secrets this stack made (under its prefix): one an operator passes by ARN may be rotated by their
    // own process, which sealing would cut off.
    const own = `:secret:${aws.secretPrefix}accounts/`;
    let sealed = 0;
    let deleted = 0;
    let failed = 0;
    for (const stored of await aws.accounts.stored()) {
      const arn = stored.passwordSecretArn ?? stored.oauth2?.secretArn;
      if (arn === undefined) continue;
      if (!arn.includes(own)) {
        out(`${stored.id}: kept in ${arn} (given by ARN, not made by idlehook)`);
        continue;
      }
      const listed = await directory.account(stored.id);
      if (!listed || !(await directory.replaceAccount(undefined, listed.value))) {
        out(`${stored.id}: its secret cannot be read now; left as it is (run this again)`);
        failed += 1;
        continue;
      }
      sealed += 1;
      // The directory deletes only a secret named as idlehook names them; an operator's under the prefix stays.
      if (directory.madeSecret('accounts', stored.id, arn)) deleted += 1;
      else
        out(
          `${stored.id}: sealed; its secret ${arn} is kept (named by you, not by idlehook): delete it when unused`,
        );
    }
    // Accounts stored before the shard index are rewritten into it, so watcher tasks read them by shard.
    const { inShardIndex } = await import('../../adapters/aws/dynamodb-account-changes.js');
    let indexed = 0;
    for (const stored of await aws.accounts.stored()) {
      if (inShardIndex(stored as unknown as Record<string, unknown>)) continue;
      if (await aws.accounts.put(stored, 'existing')) indexed += 1;
    }
    out(
      `${sealed} account(s) sealed; ${deleted} secret(s) idlehook made for them scheduled for deletion (recoverable for 7 days).`,
    );
    if (indexed > 0) out(`${indexed} account(s) filed under their shard.`);
    return failed > 0 ? 1 : 0;
  },
};
