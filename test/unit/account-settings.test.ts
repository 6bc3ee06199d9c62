import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountFromOptions, subscriptionFromOptions } from '../../src/cli/aws-management.js';
import type { AccountConfig } from '../../src/config/config.js';
import { ConfigError, parseConfig } from '../../src/config/load-config.js';

const context = { source: 'test.json', baseDir: '/etc/idlehook', env: {} as NodeJS.ProcessEnv };

/** The AccountConfig `accounts add` checks before it stores anything (the doctor's input). */
async function fromCommandLine(options: Parameters<typeof accountFromOptions>[0]): Promise<AccountConfig> {
  let checked: AccountConfig | undefined;
  await accountFromOptions(
    options,
    {},
    {
      resolveSecret: async () => 'app-password',
      check: async (account) => {
        checked = account;
      },
    },
  );
  assert.ok(checked);
  return checked;
}

async function problemsOf(run: () => Promise<unknown>): Promise<string[]> {
  const error = await run().then(
    () => assert.fail('expected a ConfigError'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof ConfigError, String(error));
  return error.problems.map((p) => p.message);
}

describe('one account and subscription schema for the config file and the CLI', () => {
  /** The same account from a config file and from `accounts add`. */
  async function bothWays(
    fileAccount: Record<string, unknown>,
    options: Parameters<typeof accountFromOptions>[0],
  ) {
    const [fromFile] = parseConfig(
      { accounts: [{ ...fileAccount, password: 'app-password' }] },
      context,
    ).accounts;
    const fromCli = await fromCommandLine({ ...options, 'password-secret-arn': 'arn:x' });
    assert.deepEqual(fromCli, fromFile);
    return fromCli;
  }

  it('reads a preset account the same way: host, port, connection limit and defaults', async () => {
    const account = await bothWays(
      { id: 'mail', provider: 'gmail', user: 'me@gmail.com' },
      { id: 'mail', provider: 'gmail', user: 'me@gmail.com' },
    );
    assert.equal(account.host, 'imap.gmail.com');
    assert.equal(account.port, 993);
    assert.equal(account.connectionLimit, 15);
  });

  it('defaults the STARTTLS port alike', async () => {
    const account = await bothWays(
      { id: 'a', host: 'imap.example.com', security: 'starttls', user: 'u' },
      { id: 'a', host: 'imap.example.com', security: 'starttls', user: 'u' },
    );
    assert.equal(account.port, 143);
  });

  it('explains a bad identifier in the same words', async () => {
    const fileMessage = (() => {
      try {
        parseConfig({ accounts: [{ id: 'no spaces', host: 'h', user: 'u', password: 'p' }] }, context);
      } catch (error) {
        return error instanceof ConfigError
          ? error.problems.find((p) => p.path === 'accounts[0].id')?.message
          : '';
      }
      return '';
    })();
    const accountMessages = await problemsOf(() =>
      accountFromOptions(
        { id: 'no spaces', host: 'h', user: 'u', 'password-secret-arn': 'arn:x' },
        {},
        undefined,
      ),
    );
    const subscriptionMessages = await problemsOf(() =>
      subscriptionFromOptions(
        { id: 'no spaces', url: 'https://example.com/hook', 'secret-arn': 'arn:x' },
        {},
        async () => assert.fail('the id is refused before any secret is read'),
      ),
    );
    assert.ok(fileMessage);
    assert.deepEqual(accountMessages, [fileMessage]);
    assert.deepEqual(subscriptionMessages, [fileMessage]);
  });
});
