import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load-config.js';
import { signingSecrets } from '../../src/domain/subscriptions.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const context = { source: 'test.json', baseDir: '/etc/idlehook', env: {} as NodeJS.ProcessEnv };

function problems(json: unknown, env: NodeJS.ProcessEnv = {}): Map<string, string> {
  try {
    parseConfig(json, { ...context, env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return new Map(error.problems.map((p) => [p.path, p.message]));
  }
  assert.fail('expected a ConfigError');
}

const minimal = {
  accounts: [{ id: 'support', host: 'imap.example.com', user: 'u', password: 'p' }],
};

describe('configuration', () => {
  it('fills in the documented defaults', () => {
    const config = parseConfig(minimal, context);
    const [account] = config.accounts;
    assert.equal(config.dataDir, '/etc/idlehook/.idlehook');
    assert.equal(account?.port, 993);
    assert.equal(account?.security, 'tls');
    assert.deepEqual(account?.mailboxes, ['INBOX']);
    assert.equal(account?.initialSync, 'new');
    assert.deepEqual(config.subscriptions, []);
    assert.equal(config.delivery.timeoutSeconds, 15);
    assert.equal(config.http.port, 7465);
  });

  it('keeps the API to this machine unless said otherwise: loopback behind a proxy, internal addresses blocked once public', () => {
    const local = parseConfig(minimal, context);
    assert.equal(local.delivery.blockInternalAddresses, false, 'a laptop may post to its own receiver');
    const behindProxy = parseConfig(
      { ...minimal, http: { public: { url: 'https://hooks.example.com', port: 8443, behindProxy: true } } },
      context,
    );
    assert.equal(behindProxy.http.public?.host, '127.0.0.1', 'plain HTTP with tokens stays on loopback');
    assert.equal(behindProxy.delivery.blockInternalAddresses, true, 'no SSRF read-back from another machine');
    const chosen = parseConfig(
      {
        ...minimal,
        http: {
          public: { url: 'https://hooks.example.com', port: 8443, behindProxy: true, host: '10.0.0.5' },
        },
        delivery: { blockInternalAddresses: false },
      },
      context,
    );
    assert.deepEqual([chosen.http.public?.host, chosen.delivery.blockInternalAddresses], ['10.0.0.5', false]);
  });

  it('defaults the port from the security mode', () => {
    const config = parseConfig({ accounts: [{ ...minimal.accounts[0], security: 'starttls' }] }, context);
    assert.equal(config.accounts[0]?.port, 143);
  });

  it('resolves secrets from env and files, and decodes the webhook secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-config-'));
    writeFileSync(join(dir, 'password.txt'), 'from-file\n');
    const config = parseConfig(
      {
        accounts: [{ ...minimal.accounts[0], password: { file: 'password.txt' } }],
        subscriptions: [
          { id: 'hook', url: 'https://hooks.example.com/x', secret: { env: 'HOOK_SECRET' } },
          { id: 'rotating', url: 'https://hooks.example.com/y', secret: SECRET, previousSecret: OLD_SECRET },
        ],
      },
      { source: 'x', baseDir: dir, env: { HOOK_SECRET: SECRET } },
    );
    assert.deepEqual(config.accounts[0]?.auth, { kind: 'password', password: 'from-file' });
    assert.deepEqual(config.subscriptions[0]?.secrets, [Buffer.alloc(32, 7)]);
    assert.deepEqual(
      config.subscriptions[1]?.secrets,
      [Buffer.alloc(32, 7), Buffer.alloc(32, 9)],
      'current first',
    );
    assert.equal(config.subscriptions[0]?.events, undefined, 'all events by default');
  });

  it('names every bad field in one error: shape, unresolvable secrets and cross-field rules together', () => {
    const found = problems({
      dataDir: 5,
      accounts: [
        {
          id: 'support',
          host: '',
          port: 99999,
          user: 'u',
          password: 'p',
          security: 'ssl',
          mailbox: ['INBOX'],
        },
        { id: 'support', host: 'imap.example.com', user: 'u', password: { env: 'MISSING_PASSWORD' } },
        { id: 'remote', host: 'imap.example.com', user: 'u', password: 'p', security: 'none' },
        {
          id: 'local',
          host: 'localhost',
          user: 'u',
          password: 'p',
          security: 'none',
          tls: { ca: 'missing-ca.pem' },
        },
        { id: 'twice', host: 'h', user: 'u', password: { vault: 'x' }, mailboxes: ['INBOX', 'INBOX'] },
      ],
      subscriptions: [
        {
          id: 'hook',
          url: 'ftp://example.com',
          secret: 'not-a-whsec',
          events: ['message.exploded'],
          accounts: ['nope'],
        },
        { id: 'short', url: 'https://h.example.com', secret: `whsec_${Buffer.alloc(8).toString('base64')}` },
      ],
    });
    assert.deepEqual(
      [...found.keys()].sort(),
      [
        'accounts[0]',
        'accounts[0].host',
        'accounts[0].port',
        'accounts[0].security',
        'accounts[1].id',
        'accounts[1].password.env',
        'accounts[2].security',
        'accounts[3].tls.ca',
        'accounts[4].mailboxes',
        'accounts[4].password',
        'dataDir',
        'subscriptions[0].accounts[0]',
        'subscriptions[0].events[0]',
        'subscriptions[0].secret',
        'subscriptions[0].url',
        'subscriptions[1].secret',
      ].sort(),
    );
    assert.match(found.get('accounts[0]') ?? '', /unknown field\(s\): mailbox/);
    assert.match(found.get('accounts[1].id') ?? '', /duplicate account id "support"/);
    assert.match(found.get('accounts[1].password.env') ?? '', /MISSING_PASSWORD is not set/);
    assert.match(found.get('accounts[2].security') ?? '', /loopback hosts or with "allowInsecure"/);
    assert.equal(
      found.get('accounts[3].tls.ca'),
      'cannot read /etc/idlehook/missing-ca.pem ("missing-ca.pem" is taken relative to the config file\'s folder): ENOENT',
    );
    assert.match(found.get('accounts[4].mailboxes') ?? '', /twice/);
    assert.match(found.get('accounts[4].password') ?? '', /\{ "env": NAME \}/);
    assert.match(found.get('subscriptions[0].accounts[0]') ?? '', /no account with id "nope"/);
    assert.match(found.get('subscriptions[0].secret') ?? '', /whsec_/);
    assert.match(found.get('subscriptions[1].secret') ?? '', /24-64 bytes, got 8/);
  });

  it("compiles a subscription's filter, and names each problem inside an invalid one by its path", () => {
    const filter = { data: { subject: [{ regex: '(?i)invoice' }] } };
    const config = parseConfig(
      {
        ...minimal,
        subscriptions: [{ id: 'billing', url: 'https://hooks.example.com/', secret: SECRET, filter }],
      },
      context,
    );
    const [billing] = config.subscriptions;
    assert.deepEqual(billing?.filter?.pattern, filter);
    assert.equal(billing?.filter?.matches({ data: { subject: 'Your INVOICE' } }), true);
    const found = problems({
      ...minimal,
      subscriptions: [
        {
          id: 'billing',
          url: 'https://hooks.example.com/',
          secret: SECRET,
          filter: { data: { subject: [{ contains: 'invoice' }], size: [{ numeric: ['>', 'big'] }] } },
        },
      ],
    });
    assert.match(found.get('subscriptions[0].filter.data.subject[0]') ?? '', /unknown operator "contains"/);
    assert.match(found.get('subscriptions[0].filter.data.size[0].numeric') ?? '', /\[operator, number\]/);
  });

  it('accepts plain text to a remote host only with allowInsecure', () => {
    const config = parseConfig(
      { accounts: [{ ...minimal.accounts[0], security: 'none', allowInsecure: true }] },
      context,
    );
    assert.equal(config.accounts[0]?.port, 143);
  });

  it('signs with the previous secret of a rotation until previousSecretExpiresAt, then with the new one only', () => {
    const config = parseConfig(
      {
        ...minimal,
        subscriptions: [
          {
            id: 'rotating',
            url: 'https://example.com/hook',
            secret: SECRET,
            previousSecret: OLD_SECRET,
            previousSecretExpiresAt: '2026-12-01T12:00:00Z',
          },
        ],
      },
      context,
    );
    const [subscription] = config.subscriptions;
    assert.ok(subscription);
    const end = Date.parse('2026-12-01T12:00:00Z');
    assert.equal(signingSecrets(subscription, end - 1).length, 2);
    assert.deepEqual(signingSecrets(subscription, end), [subscription.secrets[0]]);
    assert.match(
      problems({
        ...minimal,
        subscriptions: [
          { id: 's', url: 'https://e.com/', secret: SECRET, previousSecretExpiresAt: 'tomorrow' },
        ],
      }).get('subscriptions[0].previousSecretExpiresAt') ?? '',
      /./,
    );
  });

  it('reports a missing file and invalid JSON by file name', () => {
    assert.throws(
      () => loadConfig('/nonexistent/idlehook.json'),
      /\/nonexistent\/idlehook.json[\s\S]*cannot read/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ "accounts": [ }');
    assert.throws(
      () => loadConfig(join(dir, 'bad.json')),
      /not valid JSON: line 1, column 17: value expected/,
    );
    writeFileSync(join(dir, 'trailing.json'), '{\n  "accounts": [],\n}\n');
    assert.throws(() => loadConfig(join(dir, 'trailing.json')), /line 3, column 1: property name expected/);
  });

  it('suggests the known field nearest to an unknown one, at its own level', () => {
    const found = problems({
      accounts: [{ ...minimal.accounts[0], securty: 'tls', tls: { servrname: 'x' } }],
      delivery: { timeoutSecond: 3 },
      colour: 'blue',
    });
    assert.equal(found.get('accounts[0]'), 'unknown field(s): securty (did you mean `security`?)');
    assert.equal(found.get('accounts[0].tls'), 'unknown field(s): servrname (did you mean `servername`?)');
    assert.equal(found.get('delivery'), 'unknown field(s): timeoutSecond (did you mean `timeoutSeconds`?)');
    assert.equal(found.get('(root)'), 'unknown field(s): colour', 'no suggestion without a near miss');
  });

  it('never echoes a secret value in an error', () => {
    try {
      parseConfig(
        {
          accounts: [{ ...minimal.accounts[0], password: 'hunter2-secret' }],
          subscriptions: [{ id: 'h', url: 'https://x.example', secret: 'whsec_hunter3-secret!' }],
        },
        context,
      );
      assert.fail('expected an error');
    } catch (error) {
      assert.doesNotMatch((error as Error).message, /hunter/);
    }
  });
});

describe('config: credentials only over encrypted or loopback connections', () => {
  const oauth2Account = (tokenUrl: string) => ({
    id: 'o',
    host: 'imap.example.com',
    user: 'u',
    oauth2: { clientId: 'c', refreshToken: 'r', tokenUrl },
  });
  const subscriptions = [{ id: 's', url: 'https://h.example/', secret: SECRET }];

  it('refuses an http:// OAuth2 token URL except on loopback', () => {
    const found = problems({ accounts: [oauth2Account('http://auth.example.com/token')], subscriptions });
    assert.match(found.get('accounts[0].oauth2.tokenUrl') ?? '', /must be https/);
    for (const url of ['https://auth.example.com/token', 'http://127.0.0.1:8080/token', 'http://localhost/t'])
      assert.doesNotThrow(() => parseConfig({ accounts: [oauth2Account(url)], subscriptions }, context), url);
  });

  it("refuses http:// for a connect provider's authorize and token URLs except on loopback", () => {
    const connect = (authorizeUrl: string, tokenUrl: string) => ({
      providers: { gmail: { clientId: 'c', clientSecret: 's', authorizeUrl, tokenUrl } },
    });
    const found = problems({
      ...minimal,
      connect: connect('http://auth.example.com/authorize', 'http://auth.example.com/token'),
    });
    assert.match(found.get('connect.providers.gmail.authorizeUrl') ?? '', /must be https/);
    assert.match(found.get('connect.providers.gmail.tokenUrl') ?? '', /must be https/);
    assert.doesNotThrow(() =>
      parseConfig(
        { ...minimal, connect: connect('http://127.0.0.1:9/a', 'https://auth.example.com/t') },
        context,
      ),
    );
  });

  it('applies the loopback-only rule for "security": "none" to a host from a provider preset', () => {
    const found = problems({
      accounts: [{ id: 'g', provider: 'gmail', user: 'u', password: 'p', security: 'none' }],
      subscriptions,
    });
    assert.match(found.get('accounts[0].security') ?? '', /plain text/);
  });

  it('names an unknown provider, even one named like an Object.prototype member', () => {
    for (const provider of ['__proto__', 'constructor', 'nope']) {
      const found = problems({ accounts: [{ id: 'p', provider, user: 'u', password: 'p' }], subscriptions });
      assert.ok(found.has('accounts[0].provider'), `${provider}: ${[...found.keys()]}`);
    }
  });

  it('reads { "env" } secrets from the envFile, with the process environment winning, and names an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-envfile-'));
    writeFileSync(
      join(dir, 'idlehook.env'),
      `# comment\nIMAP_PASSWORD='from the # file'\nWEBHOOK_SECRET="${SECRET}"\n__proto__=x\n`,
    );
    const document = {
      envFile: 'idlehook.env',
      accounts: [{ ...minimal.accounts[0], password: { env: 'IMAP_PASSWORD' } }],
      subscriptions: [{ id: 'hook', url: 'https://example.com/', secret: { env: 'WEBHOOK_SECRET' } }],
    };
    const fromFile = parseConfig(document, { ...context, baseDir: dir });
    assert.deepEqual(fromFile.accounts[0]?.auth, { kind: 'password', password: 'from the # file' });
    assert.deepEqual(fromFile.subscriptions[0]?.secrets, [Buffer.alloc(32, 7)]);
    const overridden = parseConfig(document, {
      ...context,
      baseDir: dir,
      env: { IMAP_PASSWORD: 'from the process' },
    });
    assert.deepEqual(overridden.accounts[0]?.auth, { kind: 'password', password: 'from the process' });
    // Where each came from, for a rejected login's message (never the value).
    assert.equal(fromFile.credentialSources.get('support'), 'IMAP_PASSWORD in idlehook.env');
    assert.equal(
      overridden.credentialSources.get('support'),
      'environment variable IMAP_PASSWORD, set in the environment (which overrides idlehook.env)',
    );
    assert.equal(({} as { x?: unknown }).x, undefined, 'Object.prototype untouched');

    const missing = problems({ ...document, envFile: 'nowhere.env' });
    assert.match(missing.get('envFile') ?? '', /cannot read \/etc\/idlehook\/nowhere\.env: ENOENT/);
  });
});
