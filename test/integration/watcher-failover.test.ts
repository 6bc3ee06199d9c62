import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import type { SecretResolver } from '../../src/ports/services.js';
import { storedDovecotAccount } from '../support/accounts.js';
import {
  type EmulatedStack,
  runFunctions,
  spawnWatcher,
  startEmulatedStack,
} from '../support/aws-pipeline.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { withLinkKey } from '../support/link-endpoint.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

/** CI size; FAILOVER_ACCOUNTS=300 runs the full size on demand. */
const ACCOUNTS = Number(process.env.FAILOVER_ACCOUNTS ?? 24);
const LEASE_SECONDS = 6;
/** More SIGKILLs, each followed by a replacement watcher, for failover p50/max (FAILOVER_KILLS=5). */
const EXTRA_KILLS = Number(process.env.FAILOVER_KILLS ?? 1) - 1;
const USERS = Array.from({ length: ACCOUNTS }, (_, i) => ({
  name: `user${i}`,
  password: `pw-${i}`,
  // Every fourth account watches two mailboxes: an account's mailboxes must stay together in one watcher.
  mailboxes: i % 4 === 0 ? ['INBOX', 'Archive'] : ['INBOX'],
}));
const MAILBOXES = USERS.reduce((sum, user) => sum + user.mailboxes.length, 0);
const passwordArn = (user: string) =>
  `arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/accounts/${user}`;
const WEBHOOK_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/subscriptions/hook';

interface WatcherProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly healthUrl: string;
}

describe(`several watcher processes share ${MAILBOXES} mailboxes of ${ACCOUNTS} accounts by shard leases`, () => {
  let dovecot: DovecotServer;
  let stack: EmulatedStack;
  let adapters: ReturnType<typeof composeAwsAdapters>;
  let watcherEnv: NodeJS.ProcessEnv;
  const watchers = new Map<string, WatcherProcess>();
  const receiver = new WebhookReceiver(newWebhookSecret());
  const secrets: SecretResolver = {
    resolve: async (arn) => (arn === WEBHOOK_ARN ? receiver.secret : assert.fail(`no secret ${arn}`)),
  };
  let functions: ReturnType<typeof runFunctions> | undefined;
  let sent = 0;
  const log: string[] = [];

  async function startWatcher(name: string): Promise<void> {
    const { child, healthUrl } = await spawnWatcher(watcherEnv, (line) => log.push(`${name}: ${line}`));
    watchers.set(name, { name, child, healthUrl });
  }

  /** Which watcher has each mailbox in IDLE (a mailbox may appear under two during a handover). */
  async function idleMailboxes(): Promise<Map<string, string[]>> {
    const holders = new Map<string, string[]>();
    for (const watcher of watchers.values()) {
      const health = await fetch(watcher.healthUrl)
        .then(
          (r) =>
            r.json() as Promise<{
              accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
            }>,
        )
        .catch(() => ({ accounts: {} }));
      for (const [account, { mailboxes }] of Object.entries(health.accounts))
        for (const [mailbox, { state }] of Object.entries(mailboxes))
          if (state === 'idle')
            holders.set(`${account}/${mailbox}`, [
              ...(holders.get(`${account}/${mailbox}`) ?? []),
              watcher.name,
            ]);
    }
    return holders;
  }

  /** Waits until every mailbox is in IDLE on exactly one watcher; the time it took (ms). */
  async function allIdleOnce(
    what: string,
    timeoutMs = 60_000,
  ): Promise<{ ms: number; holders: Map<string, string[]> }> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const holders = await idleMailboxes();
      if (holders.size === MAILBOXES && [...holders.values()].every((h) => h.length === 1))
        return { ms: Date.now() - started, holders };
      await sleep(200);
    }
    assert.fail(
      `${what}: not every mailbox in IDLE on exactly one watcher within ${timeoutMs} ms\n${log.slice(-20).join('')}`,
    );
  }

  /** Waits until no mailbox has changed watcher for two lease cycles. */
  async function settledHolders(what: string): Promise<void> {
    const started = Date.now();
    let before = '';
    while (Date.now() - started < 120_000) {
      const { holders } = await allIdleOnce(what);
      const now = JSON.stringify([...holders].sort());
      if (now === before) return;
      before = now;
      await sleep((LEASE_SECONDS * 1000 * 2) / 3);
    }
    assert.fail(`${what}: mailboxes still moving between watchers after 120 s`);
  }

  async function sendToEvery(subject: string): Promise<void> {
    for (const user of USERS) {
      const appender = await connectAppender(dovecot, user.name, user.password);
      await appender.append('INBOX', simpleMessage(`${subject} ${user.name}`));
      await appender.logout();
      sent += 1;
    }
  }

  /** Sends the signal to a watcher and waits for it to exit. */
  async function stopWatcher(name: string, signal: NodeJS.Signals): Promise<void> {
    const watcher = watchers.get(name);
    assert.ok(watcher, name);
    const exited = new Promise((r) => watcher.child.once('exit', r));
    watcher.child.kill(signal);
    await exited;
    watchers.delete(name);
  }

  async function sendToEveryAndDeliver(subject: string): Promise<void> {
    await sendToEvery(subject);
    await allDelivered();
  }

  async function allDelivered(): Promise<void> {
    const started = Date.now();
    while (new Set(receiver.accepted.map((w) => w.body.data.subject)).size < sent) {
      if (Date.now() - started > 60_000)
        assert.fail(
          `${new Set(receiver.accepted.map((w) => w.body.data.subject)).size} of ${sent} delivered`,
        );
      await sleep(200);
    }
  }

  before(async () => {
    dovecot = await startDovecot(USERS);
    for (const user of USERS.filter((u) => u.mailboxes.includes('Archive'))) {
      const appender = await connectAppender(dovecot, user.name, user.password);
      await appender.mailboxCreate('Archive');
      await appender.logout();
    }
    stack = await startEmulatedStack('idlehook-failover');
    const variables = {
      ...stack.variables,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '5',
      IDLEHOOK_MAILBOX_CHECK_SECONDS: '2',
      IDLEHOOK_SHARD_COUNT: '32',
      IDLEHOOK_LEASE_SECONDS: String(LEASE_SECONDS),
      IDLEHOOK_LOG_LEVEL: 'warn',
    };
    const env = loadAwsEnvironment(variables);
    watcherEnv = stack.watcherEnv(variables, new Map(USERS.map((u) => [passwordArn(u.name), u.password])));
    adapters = composeAwsAdapters(env, { ...stack.clients, secrets: withLinkKey(secrets) });
    for (const user of USERS) {
      await adapters.accounts.put(
        storedDovecotAccount(dovecot, user.name, {
          passwordSecretArn: passwordArn(user.name),
          mailboxes: user.mailboxes,
        }),
      );
    }
    await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: WEBHOOK_ARN });
    functions = runFunctions(adapters, env, stack.aws.sqs);
  });

  after(async () => {
    for (const watcher of watchers.values()) {
      watcher.child.kill('SIGCONT');
      watcher.child.kill('SIGKILL');
    }
    await functions?.stop();
    await adapters?.http.close();
    await receiver.close();
    await stack?.stop();
    await dovecot?.stop();
  });

  it('spreads the mailboxes over three watchers, each watched by exactly one', async () => {
    await Promise.all(['a', 'b', 'c'].map(startWatcher));
    // The first watcher to cycle may take every free shard; the others then steal one per cycle.
    const started = Date.now();
    let holders: Map<string, string[]>;
    let perWatcher: Map<string, number>;
    do {
      holders = (await allIdleOnce('three watchers started')).holders;
      perWatcher = new Map<string, number>();
      for (const [holder] of holders.values())
        if (holder) perWatcher.set(holder, (perWatcher.get(holder) ?? 0) + 1);
      if (perWatcher.size === 3) break;
      await sleep(500);
    } while (Date.now() - started < 60_000);
    assert.equal(perWatcher.size, 3, `every watcher holds some: ${[...perWatcher]}`);
    for (const user of USERS.filter((u) => u.mailboxes.length > 1)) {
      const holdersOfAccount = new Set(user.mailboxes.map((m) => holders.get(`${user.name}/${m}`)?.[0]));
      assert.equal(holdersOfAccount.size, 1, `${user.name}'s mailboxes are in one watcher`);
    }
    await sendToEveryAndDeliver('first');
  });

  it('watches a SIGKILLed watcher’s mailboxes elsewhere within 30 s, and loses no mail', async () => {
    const failovers: number[] = [];
    for (let kill = 0; kill <= EXTRA_KILLS; kill++) {
      const victim = kill === 0 ? 'a' : `replacement-${kill}`;
      if (kill > 0) {
        await startWatcher(victim);
        // Killed in a steady state: during a steal the old owner still watches for up to a cycle.
        await settledHolders(`replacement ${kill} started`);
        assert.ok(
          [...(await idleMailboxes()).values()].some((h) => h.includes(victim)),
          `${victim} took no mailbox`,
        );
      }
      await stopWatcher(victim, 'SIGKILL');
      failovers.push((await allIdleOnce(`after SIGKILL ${kill + 1}`, 30_000)).ms);
      process.stdout.write(`# failover after SIGKILL: ${failovers.at(-1)} ms (lease ${LEASE_SECONDS} s)\n`);
    }
    const sorted = [...failovers].sort((x, y) => x - y);
    process.stdout.write(
      `# failover over ${sorted.length} kills: p50 ${sorted[Math.floor((sorted.length - 1) / 2)]} ms, max ${sorted.at(-1)} ms\n`,
    );
    await sendToEveryAndDeliver('after kill');
  });

  it('rebalances when a watcher joins, and a SIGTERMed one hands over without waiting for its leases to expire', async () => {
    await startWatcher('d');
    // Steals go one shard per cycle: wait for the newcomer's first mailboxes, then for a settled state.
    const joined = Date.now();
    while (![...(await idleMailboxes()).values()].some((holders) => holders.includes('d'))) {
      assert.ok(Date.now() - joined < 30_000, 'the new watcher took no mailbox within 30 s');
      await sleep(200);
    }
    // Until the steals have run their course: a handover measured while shards still move would time both.
    await settledHolders('fourth watcher joined');
    await stopWatcher('b', 'SIGTERM');
    const handover = await allIdleOnce('after SIGTERM', 30_000);
    process.stdout.write(`# handover after SIGTERM: ${handover.ms} ms\n`);
    assert.ok(handover.ms < LEASE_SECONDS * 1000, `handover took ${handover.ms} ms, not less than the lease`);
    await sendToEveryAndDeliver('after handover');
  });

  it('a paused watcher resumed after its leases expired does not keep its old mailboxes', async () => {
    const paused = watchers.get('c');
    assert.ok(paused);
    paused.child.kill('SIGSTOP');
    await sleep((LEASE_SECONDS + 4) * 1000);
    await sendToEvery('while paused');
    paused.child.kill('SIGCONT');
    await allIdleOnce('after the zombie resumed', 30_000);
    await allDelivered();
    // Nothing but new mail happened: an account.error here would be the zombie speaking for the new owner.
    const others = receiver.accepted.filter((w) => w.type !== 'message.received');
    assert.deepEqual(
      others.map((w) => `${w.type} ${JSON.stringify(w.body.data)}`),
      [],
    );
    const ids = new Map<string, string>();
    for (const webhook of receiver.ofType('message.received')) {
      const subject = String(webhook.body.data.subject);
      assert.equal(
        ids.get(subject) ?? webhook.id,
        webhook.id,
        `a message delivered twice keeps its webhook-id: ${subject}`,
      );
      ids.set(subject, webhook.id);
    }
    assert.equal(ids.size, sent);
  });
});
