// One write path for accounts and subscriptions in AWS mode: the same cases through the CLI (`--aws`, as an
// operator runs it) and through the management API function (as API Gateway invokes it), on dynalite with the
// Secrets Manager and KMS stand-ins (neither can run here). Both must create, refuse a taken id, change and
// delete alike, and leave Secrets Manager alike.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbSubscriptionRepository } from '../../src/adapters/aws/dynamodb-subscription-repository.js';
import { SecretsManagerResolver } from '../../src/adapters/aws/secrets-manager-resolver.js';
import { SecretsManagerWriter } from '../../src/adapters/aws/secrets-manager-writer.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { apiFunction } from '../../src/compose/aws/api-function.js';
import { composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { decodeWebhookSecret } from '../../src/domain/signing.js';
import type { SubscriptionConfig } from '../../src/domain/subscriptions.js';
import { invokeApi } from '../support/aws-api.js';
import { cliAwsEnvironment, startDynamoDb } from '../support/aws-emulators.js';
import { BridgeProcess } from '../support/bridge.js';
import { type KmsStandIn, startKms } from '../support/kms-standin.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';
import { newWebhookSecret } from '../support/receiver.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager-standin.js';

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');
const PREFIX = 'idlehook/Paths/';

type Outcome = 'done' | 'conflict' | 'not-found';

/** The operations each write path offers, reduced to what the cases compare. */
interface WritePath {
  addSubscription(id: string, secret: string): Promise<Outcome>;
  /** Adds one with a filter; `refusal` is what the user is told when it is refused. */
  addFilteredSubscription(
    id: string,
    secret: string,
    filter: unknown,
    accounts?: readonly string[],
  ): Promise<{ readonly refusal?: string }>;
  /**
   * A new signing secret, the old one still signing meanwhile: the API's rotate-secret; the CLI's `add --replace`
   * with the new secret and the old one by its ARN (`--previous-secret-arn`).
   */
  rotateSecret(id: string, newSecret: string): Promise<Outcome>;
  /** The CLI replaces the whole subscription, so it is given the secret again; the API patches the URL. */
  changeSubscriptionUrl(id: string, url: string, secret: string): Promise<Outcome>;
  removeSubscription(id: string): Promise<Outcome>;
  addAccount(id: string, password: string): Promise<Outcome>;
  removeAccount(id: string): Promise<Outcome>;
}

describe('one write path: the CLI and the API create, refuse, change and delete alike (AWS mode)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let secretsManager: SecretsManagerStandIn;
  let kms: KmsStandIn;
  const paths = new Map<string, WritePath>();
  let subscriptionUrl: (id: string) => Promise<string | undefined>;
  /** The subscriptions as the functions load them, read afresh (the repository caches its list). */
  let loadedSubscription: (id: string) => Promise<SubscriptionConfig | undefined>;
  /** The same, with the signing secrets resolved, as the deliver function has them. */
  let signingKeysOf: (id: string) => Promise<readonly Buffer[] | undefined>;

  before(async () => {
    dynamo = await startDynamoDb();
    secretsManager = await startSecretsManager();
    kms = await startKms();
    const variables = {
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: 'http://127.0.0.1:9/ingest.fifo',
      IDLEHOOK_DELIVERY_QUEUE_URL: 'http://127.0.0.1:9/delivery',
      IDLEHOOK_BLOB_BUCKET: 'unused',
      IDLEHOOK_SECRET_PREFIX: PREFIX,
      IDLEHOOK_CREDENTIALS_KEY_ID: kms.keyArn,
      IDLEHOOK_STACK_NAME: 'Paths',
      IDLEHOOK_LOG_LEVEL: 'error',
      ...UNFETCHED_LINKS,
    };
    const env = loadAwsEnvironment(variables);
    const secrets = new SecretsManagerClient({ ...dynamo.clientConfig, endpoint: secretsManager.endpoint });
    const adapters = composeAwsAdapters(env, {
      dynamo: dynamo.client,
      kms: kms.client(),
      secrets: withLinkKey(new SecretsManagerResolver(secrets, systemClock)),
      secretWriter: new SecretsManagerWriter(secrets),
      secretsManager: secrets,
    });
    const token = (await adapters.apiTokens.create('paths', 'full')).token;
    subscriptionUrl = async (id) => (await adapters.subscriptions.current(id))?.url;
    signingKeysOf = async (id) =>
      (
        await new DynamoDbSubscriptionRepository(
          stateTable(dynamo.client, env.IDLEHOOK_TABLE_NAME),
          new SecretsManagerResolver(secrets, systemClock),
          systemClock,
        ).list()
      ).find((s) => s.id === id)?.secrets;
    loadedSubscription = async (id) =>
      (
        await new DynamoDbSubscriptionRepository(
          stateTable(dynamo.client, env.IDLEHOOK_TABLE_NAME),
          undefined,
          systemClock,
        ).list()
      ).find((s) => s.id === id);
    const api = apiFunction(adapters, env);
    const call = async (method: string, path: string, body?: unknown): Promise<Outcome> => {
      const answer = await invokeApi(api, method, path, { token, ...(body === undefined ? {} : { body }) });
      if (answer.status === 409) return 'conflict';
      if (answer.status === 404) return 'not-found';
      assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${answer.text}`);
      return 'done';
    };
    paths.set('API', {
      addSubscription: (id, secret) =>
        call('POST', '/v1/subscriptions', { id, url: 'https://hooks.example.com/', secret }),
      changeSubscriptionUrl: (id, url) => call('PATCH', `/v1/subscriptions/${id}`, { url }),
      rotateSecret: (id, secret) =>
        call('POST', `/v1/subscriptions/${id}/rotate-secret`, { secret, previousSecretValidSeconds: 3600 }),
      removeSubscription: (id) => call('DELETE', `/v1/subscriptions/${id}`),
      addFilteredSubscription: async (id, secret, filter, accounts) => {
        const body = {
          id,
          url: 'https://hooks.example.com/',
          secret,
          filter,
          ...(accounts ? { accounts } : {}),
        };
        const answer = await invokeApi(api, 'POST', '/v1/subscriptions', { token, body });
        return answer.status === 201 ? {} : { refusal: `${answer.status} ${answer.text}` };
      },
      addAccount: (id, password) =>
        call('POST', '/v1/accounts?check=false', { id, host: 'imap.example.com', user: id, password }),
      removeAccount: (id) => call('DELETE', `/v1/accounts/${id}`),
    });

    const cliEnv: NodeJS.ProcessEnv = {
      ...(await cliAwsEnvironment({ dynamo, secretsManager, kms })),
      ...variables,
    };
    // The value travels in an environment variable, as the CLI asks (never on the command line).
    const cli = (args: string[], value = '') =>
      new Promise<Outcome>((done, fail) => {
        execFile(
          process.execPath,
          [CLI, ...args, '--aws'],
          { encoding: 'utf8', env: { ...cliEnv, GIVEN_VALUE: value } },
          (error, stdout, stderr) => {
            if (!error) return done('done');
            if (/exists: pass --replace/.test(stderr)) return done('conflict');
            if (/^No (account|subscription) \S+\.$/m.test(stderr)) return done('not-found');
            fail(new Error(`idlehook ${args.join(' ')}: ${stderr}${stdout}`));
          },
        );
      });
    paths.set('CLI', {
      addSubscription: (id, secret) =>
        cli(
          [
            'subscriptions',
            'add',
            '--id',
            id,
            '--url',
            'https://hooks.example.com/',
            '--secret-env',
            'GIVEN_VALUE',
          ],
          secret,
        ),
      changeSubscriptionUrl: (id, url, secret) =>
        cli(
          ['subscriptions', 'add', '--replace', '--id', id, '--url', url, '--secret-env', 'GIVEN_VALUE'],
          secret,
        ),
      removeSubscription: (id) => cli(['subscriptions', 'remove', id]),
      rotateSecret: async (id, secret) => {
        const stored = await adapters.subscriptions.current(id);
        return cli(
          [
            'subscriptions',
            'add',
            '--replace',
            '--id',
            id,
            '--url',
            stored?.url ?? '',
            '--secret-env',
            'GIVEN_VALUE',
            '--previous-secret-arn',
            stored?.secretArn ?? '',
          ],
          secret,
        );
      },
      addFilteredSubscription: (id, secret, filter, accounts) =>
        new Promise((done) => {
          const args = ['subscriptions', 'add', '--id', id, '--url', 'https://hooks.example.com/'];
          if (accounts) args.push('--accounts', accounts.join(','));
          execFile(
            process.execPath,
            [CLI, ...args, '--secret-env', 'GIVEN_VALUE', '--filter', JSON.stringify(filter), '--aws'],
            { encoding: 'utf8', env: { ...cliEnv, GIVEN_VALUE: secret } },
            (error, _stdout, stderr) => done(error ? { refusal: stderr } : {}),
          );
        }),
      addAccount: (id, password) =>
        cli(
          [
            'accounts',
            'add',
            '--skip-check',
            '--id',
            id,
            '--host',
            'imap.example.com',
            '--user',
            id,
            '--password-env',
            'GIVEN_VALUE',
          ],
          password,
        ),
      removeAccount: (id) => cli(['accounts', 'remove', id]),
    });
  });
  after(async () => {
    await kms?.close();
    await secretsManager?.close();
    await dynamo?.stop();
  });

  /** The live secrets stored for a subscription: named as the API names them. */
  const liveSecretsOf = (id: string) =>
    secretsManager.live().filter((name) => name.startsWith(`${PREFIX}subscriptions/${id}`));

  for (const name of ['API', 'CLI'])
    it(`${name}: a subscription's secret stored, a taken id refused, a change keeping the secret, a rotation keeping both, a removal deleting them`, async () => {
      const path = paths.get(name);
      assert.ok(path);
      const id = `hook-${name.toLowerCase()}`;
      const secret = newWebhookSecret();
      assert.equal(await path.addSubscription(id, secret), 'done');
      const stored = liveSecretsOf(id);
      assert.equal(stored.length, 1);
      assert.match(stored[0] ?? '', new RegExp(`^${PREFIX}subscriptions/${id}/[0-9a-f]{16}$`));

      assert.equal(await path.addSubscription(id, newWebhookSecret()), 'conflict');
      assert.deepEqual(liveSecretsOf(id), stored, 'a refused request stores no secret');

      assert.equal(await path.changeSubscriptionUrl(id, 'https://hooks.example.com/v2', secret), 'done');
      assert.deepEqual(
        liveSecretsOf(id),
        stored,
        'a change that keeps the secret keeps its Secrets Manager secret',
      );
      assert.equal(await subscriptionUrl(id), 'https://hooks.example.com/v2');

      const rotated = newWebhookSecret();
      assert.equal(await path.rotateSecret(id, rotated), 'done');
      assert.deepEqual(
        await signingKeysOf(id),
        [decodeWebhookSecret(rotated), decodeWebhookSecret(secret)],
        'the new secret signs, and the old one too while receivers switch',
      );
      const afterRotation = liveSecretsOf(id);
      assert.equal(afterRotation.length, 2, 'the new secret is stored beside the old one');
      assert.ok(
        stored.every((name) => afterRotation.includes(name)),
        'the old one is kept',
      );
      stored.splice(0, stored.length, ...afterRotation);

      assert.equal(await path.removeSubscription(id), 'done');
      assert.deepEqual(liveSecretsOf(id), [], "the removed subscription's secrets are deleted");
      for (const name of stored) assert.equal(secretsManager.scheduledForDeletion.get(name), 7, name);
      assert.equal(await path.removeSubscription(id), 'not-found');
    });

  for (const name of ['API', 'CLI'])
    it(`${name}: a filter stored as given and used by the functions' subscription list; an invalid one refused with its place named`, async () => {
      const path = paths.get(name);
      assert.ok(path);
      const id = `filtered-${name.toLowerCase()}`;
      const filter = { data: { from: { address: [{ suffix: '@customer.example' }] } } };
      assert.deepEqual(await path.addFilteredSubscription(id, newWebhookSecret(), filter), {});
      const listed = await loadedSubscription(id);
      assert.deepEqual(listed?.filter?.pattern, filter);
      assert.equal(listed?.filter?.matches({ data: { from: { address: 'a@customer.example' } } }), true);
      assert.equal(listed?.filter?.matches({ data: { from: { address: 'a@other.example' } } }), false);

      const { refusal } = await path.addFilteredSubscription(`${id}-bad`, newWebhookSecret(), {
        data: { subject: [{ contains: 'invoice' }] },
      });
      assert.match(refusal ?? 'accepted', /unknown operator \\?"contains\\?"/);
      assert.match(
        refusal ?? '',
        name === 'API' ? /"path":"filter\.data\.subject\.0"/ : /--filter data\.subject\[0\]/,
      );
      assert.equal(await subscriptionUrl(`${id}-bad`), undefined, 'nothing stored');
      // The accounts it names are looked up by their ids (BatchGetItem), not by reading every account.
      const account = `named-${name.toLowerCase()}`;
      assert.equal(await path.addAccount(account, 'app password'), 'done');
      const elsewhere = await path.addFilteredSubscription(`${id}-elsewhere`, newWebhookSecret(), filter, [
        account,
        'nobody',
      ]);
      assert.match(elsewhere.refusal ?? 'accepted', /no account with id \\?"nobody\\?"/);
      assert.doesNotMatch(
        elsewhere.refusal ?? '',
        new RegExp(`id \\\\?"${account}`),
        'an existing one is found',
      );
      assert.deepEqual(
        await path.addFilteredSubscription(`${id}-named`, newWebhookSecret(), filter, [account]),
        {},
      );
      assert.equal(await path.removeSubscription(`${id}-named`), 'done');
      assert.equal(await path.removeAccount(account), 'done');
      assert.equal(await path.removeSubscription(id), 'done');
    });

  for (const name of ['API', 'CLI'])
    it(`${name}: an account's password sealed (no secret), a taken id refused, a removal`, async () => {
      const path = paths.get(name);
      assert.ok(path);
      const id = `account-${name.toLowerCase()}`;
      const before = secretsManager.live().length;
      assert.equal(await path.addAccount(id, 'app password'), 'done');
      assert.equal(await path.addAccount(id, 'another password'), 'conflict');
      assert.equal(secretsManager.live().length, before, 'sealed in the item, no secret per account');
      assert.equal(await path.removeAccount(id), 'done');
      assert.equal(await path.removeAccount(id), 'not-found');
    });
});

// Local mode has no CLI write commands (accounts and subscriptions live in the config file or come through its
// API): its API must answer the same cases as AWS mode's.
describe('one write path: the local API answers the same cases', () => {
  let bridge: BridgeProcess;
  let token = '';
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${bridge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = { status: response.status, json: (await response.json().catch(() => undefined)) as any };
    return answer;
  };
  const outcome = ({ status }: { status: number }): Outcome =>
    status === 409
      ? 'conflict'
      : status === 404
        ? 'not-found'
        : status < 300
          ? 'done'
          : assert.fail(`HTTP ${status}`);

  before(async () => {
    bridge = await BridgeProcess.create({});
    await bridge.start();
    token = (await bridge.cli('tokens', 'create')).stdout.trim();
  });
  after(async () => {
    await bridge?.dispose();
  });

  it('a subscription created, a taken id refused, a change kept, a rotation, a removal; an account likewise', async () => {
    const document = { id: 'hook', url: 'https://hooks.example.com/', secret: newWebhookSecret() };
    assert.equal(outcome(await call('POST', '/v1/subscriptions', document)), 'done');
    assert.equal(
      outcome(await call('POST', '/v1/subscriptions', { ...document, secret: newWebhookSecret() })),
      'conflict',
    );
    assert.equal(
      outcome(await call('PATCH', '/v1/subscriptions/hook', { url: 'https://hooks.example.com/v2' })),
      'done',
    );
    assert.equal((await call('GET', '/v1/subscriptions/hook')).json.url, 'https://hooks.example.com/v2');
    const rotation = await call('POST', '/v1/subscriptions/hook/rotate-secret', {
      secret: newWebhookSecret(),
      previousSecretValidSeconds: 3600,
    });
    assert.equal(outcome(rotation), 'done');
    const until = Date.parse((await call('GET', '/v1/subscriptions/hook')).json.previousSecretExpiresAt);
    assert.ok(Math.abs(until - (Date.now() + 3_600_000)) < 60_000, 'the old secret signs for the hour asked');
    assert.equal(outcome(await call('DELETE', '/v1/subscriptions/hook')), 'done');
    assert.equal(outcome(await call('DELETE', '/v1/subscriptions/hook')), 'not-found');

    const account = { id: 'acct', host: 'imap.example.com', user: 'acct', password: 'app password' };
    assert.equal(outcome(await call('POST', '/v1/accounts?check=false', account)), 'done');
    assert.equal(outcome(await call('POST', '/v1/accounts?check=false', account)), 'conflict');
    assert.equal(outcome(await call('DELETE', '/v1/accounts/acct')), 'done');
    assert.equal(outcome(await call('DELETE', '/v1/accounts/acct')), 'not-found');
  });
});
