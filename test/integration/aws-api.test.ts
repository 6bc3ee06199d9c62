// The management API in AWS mode: the Lambda handler invoked with the events API Gateway (HTTP API, payload 2.0)
// and a function URL send, over the emulators (DynamoDB, SQS, S3), the Secrets Manager stand-in, Dovecot and a
// receiver that verifies with the standardwebhooks package. API Gateway and Lambda cannot run here: the events
// are built as AWS documents them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { type ApiHandler, apiFunction } from '../../src/compose/aws/api-function.js';
import { type ApiStack, dovecotAccount, invokeApi, startApiStack } from '../support/aws-api.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

describe('the management API in AWS mode (the Lambda handler, on the emulators)', () => {
  let dovecot: DovecotServer;
  let stack: ApiStack;
  let handler: ApiHandler;
  let token: string;
  const hookSecret = newWebhookSecret();
  const receiver = new WebhookReceiver(hookSecret);
  const refusing = new WebhookReceiver(newWebhookSecret());

  const call = (
    method: string,
    path: string,
    body?: unknown,
    options: { token?: string | null; iamCaller?: string } = {},
  ) =>
    invokeApi(handler, method, path, {
      token: options.token === undefined ? token : options.token,
      ...(body === undefined ? {} : { body }),
      ...(options.iamCaller ? { iamCaller: options.iamCaller } : {}),
    });
  const waitFor = async (what: string, condition: () => boolean | Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  const HELPDESK_ROLE = 'arn:aws:sts::123456789012:assumed-role/helpdesk/session';
  const FUNCTION_URL = 'https://abcdefghij0123456789.lambda-url.us-east-1.on.aws';

  before(async () => {
    dovecot = await startDovecot([
      { name: 'support', password: 'support-pw' },
      { name: 'vault', password: 'vault-pw' },
    ]);
    stack = await startApiStack({ bucket: 'idlehook-api', prefix: 'idlehook/ApiTest/' });
    handler = apiFunction(stack.adapters(), stack.env);
    token = await stack.createToken('helpdesk');
  });

  after(async () => {
    await stack?.stop();
    await receiver.close();
    await refusing.close();
    await dovecot?.stop();
  });

  it('refuses a request without a token, or with a wrong one, and a forged IAM caller where iamAccess is off', async () => {
    const none = await call('GET', '/v1/accounts', undefined, { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.json.status, 401);
    const wrong = await call('GET', '/v1/accounts', undefined, { token: 'ihk_wrong' });
    assert.equal(wrong.status, 401);
    // Anyone allowed lambda:InvokeFunction can hand-write this context: without iamAccess it buys nothing.
    for (const url of ['/v1/accounts', `${FUNCTION_URL}/v1/accounts`]) {
      const forged = await call('GET', url, undefined, { token: null, iamCaller: HELPDESK_ROLE });
      assert.equal(forged.status, 401, url);
    }
    assert.equal((await call('GET', '/v1/openapi.json')).json.openapi, '3.1.0');
    // Deliveries being retried are noted by the deliver function (SQS cannot list them): none yet.
    assert.deepEqual((await call('GET', '/v1/deliveries/pending')).json, { data: [] });
    assert.equal((await call('POST', '/v1/subscriptions/any/retry-now')).status, 404);
  });

  it("keeps a token's scope in the table: a read-only token reads and is refused a change (403)", async () => {
    const viewer = await stack.createToken('viewer', 'read');
    assert.equal((await call('GET', '/v1/accounts', undefined, { token: viewer })).status, 200);
    const refused = await call(
      'POST',
      '/v1/subscriptions',
      { id: 'nope', url: 'https://hooks.example.com/' },
      {
        token: viewer,
      },
    );
    assert.equal(refused.status, 403, refused.text);
    assert.equal((await call('GET', '/v1/subscriptions/nope')).status, 404, 'nothing was created');
    const listed = await stack.adapters().apiTokens.list();
    assert.deepEqual(listed.map((t) => [t.name, t.scope]).sort(), [
      ['helpdesk', 'full'],
      ['viewer', 'read'],
    ]);
  });

  it("keeps the doctor off internal addresses: a server or token URL inside the bridge's network is refused", async () => {
    // The stack allows loopback (the test servers); the task metadata and private ranges stay closed.
    const internalServer = await call('POST', '/v1/accounts', {
      ...dovecotAccount(dovecot, 'probe', 'support', 'support-pw'),
      host: '169.254.170.2',
      port: 80,
    });
    assert.equal(internalServer.status, 422, internalServer.text);
    const dns = internalServer.json.doctor.steps.find((s: { name: string }) => s.name === 'dns');
    assert.equal(dns.ok, false);
    assert.match(dns.summary, /internal address/);
    assert.equal(internalServer.json.doctor.steps.length, 1, 'no connection was tried');

    const internalTokenUrl = await call('POST', '/v1/accounts', {
      ...dovecotAccount(dovecot, 'probe', 'support', 'unused'),
      password: undefined,
      oauth2: { tokenUrl: 'https://10.0.0.7/token', clientId: 'c', refreshToken: 'r' },
    });
    assert.equal(internalTokenUrl.status, 422, internalTokenUrl.text);
    const login = internalTokenUrl.json.doctor.steps.at(-1);
    assert.equal(login.name, 'login');
    assert.match(login.summary, /internal address/);
    assert.equal((await call('GET', '/v1/accounts/probe')).status, 404, 'nothing stored');
  });

  it('with iamAccess, trusts an IAM caller at the function URL only, not at the token-protected HTTP API', async () => {
    const withIam = apiFunction(stack.adapters(), { ...stack.env, IDLEHOOK_IAM_ACCESS: 'true' });
    const atUrl = await invokeApi(withIam, 'GET', `${FUNCTION_URL}/v1/accounts`, {
      token: null,
      iamCaller: HELPDESK_ROLE,
    });
    assert.equal(atUrl.status, 200, atUrl.text);
    const atHttpApi = await invokeApi(withIam, 'GET', '/v1/accounts', {
      token: null,
      iamCaller: HELPDESK_ROLE,
    });
    assert.equal(atHttpApi.status, 401, 'the HTTP API has no IAM authorizer: that context is forged');
  });

  it('creates a subscription and an account (doctor first); mail arrives as a webhook', async () => {
    const subscription = await call('POST', '/v1/subscriptions', {
      id: 'hook',
      url: await receiver.listen(),
      secret: hookSecret,
    });
    assert.equal(subscription.status, 201, subscription.text);
    assert.equal(subscription.json.secret, undefined, 'a secret sent in is never sent back');

    const bad = await call('POST', '/v1/accounts', {
      id: 'plain',
      host: '127.0.0.1',
      port: dovecot.plainPort,
      security: 'none',
      allowInsecure: true,
      user: 'support',
      password: 'support-pw',
    });
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(
      bad.json.errors.map((e: { path: string }) => e.path),
      ['security'],
    );

    const wrongPassword = await call(
      'POST',
      '/v1/accounts?check=true',
      dovecotAccount(dovecot, 'support', 'support', 'not-the-password'),
    );
    assert.equal(wrongPassword.status, 422, wrongPassword.text);
    assert.ok(wrongPassword.json.doctor.steps.some((s: { ok: boolean }) => !s.ok));
    assert.equal((await call('GET', '/v1/accounts/support')).status, 404, 'nothing stored on failure');

    const created = await call(
      'POST',
      '/v1/accounts?check=true',
      dovecotAccount(dovecot, 'support', 'support', 'support-pw'),
    );
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.status.state, 'unknown', 'no watcher task has reported it yet');
    assert.ok(!created.text.includes('support-pw'), 'the password never comes back');
    const [stored] = await stack.adapters().accounts.stored();
    assert.match(String(stored?.sealedPassword), /^esdk1:/);
    assert.ok(!JSON.stringify(stored).includes('support-pw'), 'the password is sealed, not in plain text');

    await waitFor(
      'the watcher to IDLE on the new account',
      async () => (await stack.mailboxState('support')) === 'idle',
    );
    const inbox = async () => {
      const { status } = (await call('GET', '/v1/accounts')).json.data[0];
      return {
        ...status.mailboxes.find((m: { name: string }) => m.name === 'INBOX'),
        reportedAt: status.reportedAt,
      };
    };
    await waitFor(
      'the API to show the state the watcher task reported',
      async () => (await inbox()).state === 'idle',
    );
    assert.match((await inbox()).reportedAt, /^\d{4}-\d\d-\d\dT/);
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('through the AWS API'));
    await appender.logout();
    await waitFor('the webhook', () =>
      receiver.accepted.some((w) => w.body.data.subject === 'through the AWS API'),
    );
    await waitFor('the reported last UID', async () => (await inbox()).lastUid === 1);
  });

  it("counts accounts and failing ones from the shards' counts and the watcher tasks' tallies, reading no account", async () => {
    const failing = await call(
      'POST',
      '/v1/accounts?check=false',
      dovecotAccount(dovecot, 'vault', 'vault', 'wrong-pw'),
    );
    assert.equal(failing.status, 201, failing.text);
    const status = async () => (await call('GET', '/v1/status')).json.accounts;
    await waitFor('the failing account counted', async () => (await status()).failing === 1);
    const readUnits = (partition: (name: string) => boolean) =>
      [...stack.partitions.totals]
        .filter(([name]) => partition(name))
        .reduce((sum, [, units]) => sum + units.read, 0);
    const accountReads = (name: string) => name === 'ACCOUNTS' || name.startsWith('ACCOUNT_STATUS#');
    const before = readUnits(accountReads);
    assert.deepEqual(await status(), { total: 2, failing: 1, failingIds: ['vault'] });
    assert.equal(readUnits(accountReads), before, 'no account item and no status report read');
    assert.equal((await call('DELETE', '/v1/accounts/vault')).status, 204);
    await waitFor('the removed account uncounted', async () => {
      const { total, failing } = await status();
      return total === 1 && failing === 0;
    });
  });

  it('rotates a subscription secret: both signatures during the overlap', async () => {
    const rotated = await call('POST', '/v1/subscriptions/hook/rotate-secret', {
      previousSecretValidSeconds: 3600,
    });
    assert.equal(rotated.status, 200, rotated.text);
    const newSecret = rotated.json.secret as string;
    assert.match(newSecret, /^whsec_/);
    const shown = await call('GET', '/v1/subscriptions/hook');
    assert.equal(shown.json.previousSecretExpiresAt, rotated.json.previousSecretExpiresAt);

    // The deliver function caches the subscription list for 30 s: a new instance sees the rotation at once.
    await stack.restartFunctions();
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('after the rotation'));
    await appender.logout();
    await waitFor('the webhook', () =>
      receiver.accepted.some((w) => w.body.data.subject === 'after the rotation'),
    );
    const during = receiver.accepted.find((w) => w.body.data.subject === 'after the rotation');
    assert.ok(during);
    assert.equal(during.raw.headers['webhook-signature']?.split(' ').length, 2, 'two signatures');
    assert.doesNotThrow(() => new Webhook(newSecret).verify(during.raw.body, during.raw.headers));
    assert.doesNotThrow(() => new Webhook(hookSecret).verify(during.raw.body, during.raw.headers));
  });

  it('lists dead letters and replays them', async () => {
    refusing.respond = () => 400;
    const created = await call('POST', '/v1/subscriptions', {
      id: 'refusing',
      url: await refusing.listen(),
      secret: refusing.secret,
      events: ['message.received'],
    });
    assert.equal(created.status, 201, created.text);
    await stack.restartFunctions();
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('refused at first'));
    await appender.logout();
    let letters: { eventId: string }[] = [];
    await waitFor('the dead letter', async () => {
      letters = (await call('GET', '/v1/dead-letters?subscription=refusing')).json.data;
      return letters.length > 0;
    });
    refusing.respond = () => 200;
    const replayed = await call('POST', '/v1/dead-letters/replay', { subscription: 'refusing' });
    assert.equal(replayed.status, 200, replayed.text);
    assert.equal(replayed.json.delivered, letters.length);
    assert.ok(
      refusing.accepted.some((w) => w.id === letters[0]?.eventId),
      'replayed under its original id',
    );
    assert.equal((await call('GET', '/v1/dead-letters?subscription=refusing')).json.data.length, 0);
    const attempts = await call('GET', '/v1/subscriptions/refusing/attempts');
    assert.ok(attempts.json.data.some((a: { succeeded: boolean }) => a.succeeded));
  });

  it('deletes the account: the watcher lets it go and no more events come', async () => {
    const deleted = await call('DELETE', '/v1/accounts/support');
    assert.equal(deleted.status, 204, deleted.text);
    await waitFor(
      'the watcher to drop the account',
      async () => (await stack.mailboxState('support')) === undefined,
    );
    const before = receiver.accepted.length;
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('after the delete'));
    await appender.logout();
    await sleep(3_000);
    assert.equal(receiver.accepted.length, before, 'no event for a deleted account');
    assert.equal((await call('GET', '/v1/accounts/support')).status, 404);
  });

  it('creates one of two concurrent creates of the same id, and refuses the other (409)', async () => {
    const urls = ['https://one.example.com/hook', 'https://two.example.com/hook'];
    const answers = await Promise.all(
      urls.map((url) =>
        call('POST', '/v1/subscriptions', { id: 'racer', url, events: ['message.received'] }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], answers.map((a) => a.text).join('\n'));
    const winner = answers.find((a) => a.status === 201)?.json.url;
    assert.equal(
      (await call('GET', '/v1/subscriptions/racer')).json.url,
      winner,
      'the stored one is the one created',
    );
    assert.equal((await call('DELETE', '/v1/subscriptions/racer')).status, 204);
  });

  it('seals account credentials in the item (no secret per account) and keeps only the secrets in use', async () => {
    const names = (kind: string, id: string) =>
      stack.secretsManager.live().filter((name) => name.startsWith(`idlehook/ApiTest/${kind}/${id}`));
    const stored = async (id: string) => stack.adapters().accounts.current(id);
    const created = await call(
      'POST',
      '/v1/accounts',
      dovecotAccount(dovecot, 'vault', 'support', 'support-pw'),
    );
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(names('accounts', 'vault'), [], 'no Secrets Manager secret for the account');
    const first = (await stored('vault'))?.sealedPassword;
    assert.ok(first?.startsWith('esdk1:'), 'the password is sealed in the item');
    assert.ok(!JSON.stringify(await stored('vault')).includes('support-pw'), 'and nowhere in plain text');
    await waitFor(
      'the watcher to open it and log in',
      async () => (await stack.mailboxState('vault')) === 'idle',
    );

    // A changed password is checked by logging in (so is any change of the credentials): another user's.
    const changed = await call('PATCH', '/v1/accounts/vault', { user: 'vault', password: 'vault-pw' });
    assert.equal(changed.status, 200, changed.text);
    const second = (await stored('vault'))?.sealedPassword;
    assert.ok(second && second !== first, 'sealed anew');
    assert.equal(
      await stack.adapters().sealer?.open(second ?? '', { kind: 'account', id: 'vault' }),
      'vault-pw',
    );

    // An account stored before sealing (its password in a secret the CLI made) moves over at its next change,
    // and its secret is deleted, recoverably.
    const legacyArn = stack.secretsManager.put('idlehook/ApiTest/accounts/legacy', 'support-pw');
    const vault = await stored('vault');
    assert.ok(vault);
    // The item as read carries its keys: the copy must not.
    const {
      sealedPassword: _sealed,
      pk: _pk,
      sk: _sk,
      ...settings
    } = vault as typeof vault & {
      pk?: string;
      sk?: string;
    };
    await stack.adapters().accounts.put({ ...settings, id: 'legacy', passwordSecretArn: legacyArn });
    const moved = await call('PATCH', '/v1/accounts/legacy', { user: 'support', password: 'support-pw' });
    assert.equal(moved.status, 200, moved.text);
    const legacy = await stored('legacy');
    assert.ok(legacy?.sealedPassword && legacy.passwordSecretArn === undefined, 'sealed now');
    assert.equal(stack.secretsManager.scheduledForDeletion.get('idlehook/ApiTest/accounts/legacy'), 7);
    assert.equal((await call('DELETE', '/v1/accounts/legacy')).status, 204);

    const answers = await Promise.all(
      ['one', 'two'].map((url) =>
        call('POST', '/v1/subscriptions', { id: 'racer2', url: `https://${url}.example.com/hook` }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], answers.map((a) => a.text).join('\n'));
    assert.equal(
      names('subscriptions', 'racer2/').length,
      1,
      "the losing request's secret is not left behind",
    );

    assert.equal((await call('DELETE', '/v1/accounts/vault')).status, 204);
    assert.equal((await call('DELETE', '/v1/subscriptions/racer2')).status, 204);
    assert.equal(await stored('vault'), undefined, 'the sealed password goes with the item');
    assert.deepEqual(names('subscriptions', 'racer2/'), []);

    // Secrets Manager refusing the deletion does not fail a change that is stored: the old secret stays.
    const adapters = stack.adapters();
    const refusing = apiFunction(
      {
        ...adapters,
        secretWriter: {
          store: (name, value) => adapters.secretWriter.store(name, value),
          remove: async () => {
            throw new Error('AccessDeniedException');
          },
        },
      },
      stack.env,
    );
    const callRefusing = (method: string, path: string, body: unknown) =>
      invokeApi(refusing, method, path, { token, body });
    assert.equal(
      (await callRefusing('POST', '/v1/subscriptions', { id: 'kept', url: 'https://k.example.com/' })).status,
      201,
    );
    // The second rotation drops the first secret (no longer the previous one): its deletion is refused.
    for (const _ of [1, 2]) {
      const rotated = await callRefusing('POST', '/v1/subscriptions/kept/rotate-secret', {});
      assert.equal(rotated.status, 200, rotated.text);
    }
    // Three values (the first, two rotations), each under its own name; the deletion of the dropped one was
    // refused, so all three are still there, and the rotations succeeded.
    assert.equal(
      names('subscriptions', 'kept/').length,
      3,
      'the dropped secret was not deleted, and the rotation succeeded',
    );
    assert.equal((await call('DELETE', '/v1/subscriptions/kept')).status, 204);
    assert.equal(
      names('subscriptions', 'kept/').length,
      1,
      'only the one whose deletion was refused (logged)',
    );
  });

  it('refuses oversized bodies and stays up', async () => {
    const huge = await call('POST', '/v1/subscriptions', `{"id":"x","url":"${'a'.repeat(70_000)}"}`);
    assert.equal(huge.status, 413, huge.text);
    assert.equal((await call('GET', '/v1/status')).status, 200);
  });
});
