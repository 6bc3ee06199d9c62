// The control plane at full size: N accounts, T watcher tasks (the real task code, in child processes, IMAP
// sessions replaced by a stand-in), on dynalite behind DynamoDB's partition limits and the KMS stand-in.
//   npm run bench:control-plane -- --accounts 100000 --tasks 10 --changes 1000 --kill 2
// Reports the time until every account is owned, DynamoDB units per mailbox-hour by partition in steady state,
// KMS calls, throttled requests, account change to session p50/p99, and the failover after SIGKILL of some tasks
// (time until every account is owned again, the most mailboxes any task held against its cap).
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { accountShardKeys } from '../src/adapters/aws/dynamodb-account-changes.js';
import { stateTable } from '../src/adapters/aws/dynamodb-documents.js';
import { KmsCredentialSealer } from '../src/adapters/aws/kms-credential-sealer.js';
import { STATE_TABLE_DEFINITION, TABLE_KEYS } from '../src/adapters/aws/state-table.js';
import { systemClock } from '../src/adapters/system-clock.js';
import { composeAwsAdapters } from '../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../src/config/aws-environment.js';
import { shardOf } from '../src/domain/shard-leases.js';
import { PartitionMeter } from '../test/support/dynamodb-partitions.js';
import { startDynamoDbProxy } from '../test/support/dynamodb-proxy.js';
import { startKms } from '../test/support/kms-standin.js';
import { UNFETCHED_LINKS } from '../test/support/link-endpoint.js';
import { writeBenchResult } from './results.js';
import { percentile } from './stats.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';

export interface ControlPlaneOptions {
  readonly accounts: number;
  readonly tasks: number;
  /** Accounts added, changed and removed (each) while measuring change latency. */
  readonly changes: number;
  /** Tasks killed with SIGKILL at the end. */
  readonly kill: number;
  /** Seconds of steady state measured for units per mailbox-hour. */
  readonly steadySeconds: number;
  readonly log?: (line: string) => void;
}

export interface ControlPlaneResult {
  readonly ownedAllAfterMs: number;
  readonly steady: {
    readonly seconds: number;
    /** Units per mailbox-hour, by partition family (the key up to its first '#', with the index named). */
    readonly unitsPerMailboxHour: Record<string, { read: number; write: number }>;
    readonly throttled: number;
  };
  readonly kmsCalls: { readonly total: number; readonly duringSteadyState: number };
  readonly changeMs: Record<'add' | 'change' | 'remove', { p50: number; p99: number; n: number }>;
  readonly failover:
    | {
        readonly killed: number;
        readonly ownedAgainAfterMs: number;
        readonly mostMailboxesHeld: number;
        readonly cap: number;
      }
    | undefined;
  readonly throttledTotal: number;
  readonly duplicatesAtEnd: number;
}

interface Task {
  readonly name: string;
  readonly child: ChildProcess;
  readonly running: Set<string>;
}

/** Where each account's sessions run: start/stop lines from every task, with when they came. */
class Sessions {
  readonly tasks = new Map<string, Task>();
  private readonly waiters: { check: () => boolean; done: () => void }[] = [];
  readonly events: { task: string; kind: 'start' | 'stop'; account: string; at: number }[] = [];
  mostHeld = 0;

  owners(account: string): string[] {
    return [...this.tasks.values()].filter((t) => t.running.has(account)).map((t) => t.name);
  }

  ownedCount(): number {
    const all = new Set<string>();
    for (const task of this.tasks.values()) for (const account of task.running) all.add(account);
    return all.size;
  }

  line(task: Task, text: string): void {
    const [kind, account, at] = text.split(' ');
    if ((kind !== 'start' && kind !== 'stop') || !account) return;
    if (kind === 'start') task.running.add(account);
    else task.running.delete(account);
    this.mostHeld = Math.max(this.mostHeld, task.running.size);
    this.events.push({ task: task.name, kind, account, at: Number(at) });
    for (const waiter of [...this.waiters])
      if (waiter.check()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.done();
      }
  }

  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      this.waiters.push({
        check,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

const family = (partition: string) => {
  const [index, key] = partition.includes(':') ? partition.split(':') : [undefined, partition];
  const base = (key ?? '').split('#')[0] ?? '';
  return index ? `${index} ${base}#` : base;
};

export async function runControlPlaneBenchmark(options: ControlPlaneOptions): Promise<ControlPlaneResult> {
  const log = options.log ?? (() => undefined);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const direct = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const meter = new PartitionMeter();
  const proxy = await startDynamoDbProxy(direct, meter);
  const kms = await startKms();
  const children: ChildProcess[] = [];
  try {
    const seeding = new DynamoDBClient({ endpoint: direct, region, credentials });
    const tableName = 'idlehook-control-plane';
    await seeding.send(new CreateTableCommand({ TableName: tableName, ...STATE_TABLE_DEFINITION }));
    // As the construct sizes a task: its cap well above its share, so the survivors of a loss hold everything.
    const cap = Math.ceil((1.6 * options.accounts) / options.tasks);
    if ((options.tasks - options.kill) * cap < options.accounts)
      throw new Error(
        `${options.tasks - options.kill} surviving tasks of ${cap} mailboxes each cannot hold ${options.accounts}: kill fewer`,
      );
    const variables: Record<string, string> = {
      IDLEHOOK_TABLE_NAME: tableName,
      IDLEHOOK_INGEST_QUEUE_URL: 'http://127.0.0.1:9/ingest.fifo',
      IDLEHOOK_DELIVERY_QUEUE_URL: 'http://127.0.0.1:9/delivery',
      IDLEHOOK_BLOB_BUCKET: 'unused',
      IDLEHOOK_CREDENTIALS_KEY_ID: kms.keyArn,
      IDLEHOOK_STACK_NAME: 'ControlPlane',
      IDLEHOOK_MAX_MAILBOXES_PER_TASK: String(cap),
      IDLEHOOK_LOG_LEVEL: 'error',
      ...UNFETCHED_LINKS,
    };
    const env = loadAwsEnvironment(variables);

    // Seeded straight into dynalite (an import at DynamoDB's 1,000 writes a second would take minutes): what the
    // API would have written, sealed credentials and shard versions with their mailbox counts.
    const seeded = Date.now();
    const sealer = new KmsCredentialSealer({
      kms: kms.client(),
      keyId: kms.keyArn,
      stack: env.IDLEHOOK_STACK_NAME,
      table: stateTable(seeding, tableName),
      clock: systemClock,
    });
    const ids = Array.from({ length: options.accounts }, (_, i) => `acct-${String(i).padStart(7, '0')}`);
    const mailboxesByShard = new Map<number, number>();
    for (let start = 0; start < ids.length; start += 25) {
      const batch = ids.slice(start, start + 25);
      const items = await Promise.all(
        batch.map(async (id) => {
          mailboxesByShard.set(
            shardOf(id, env.IDLEHOOK_SHARD_COUNT),
            (mailboxesByShard.get(shardOf(id, env.IDLEHOOK_SHARD_COUNT)) ?? 0) + 1,
          );
          const item: Record<string, string | number | string[]> = {
            ...TABLE_KEYS.account(id),
            ...accountShardKeys(id, env.IDLEHOOK_SHARD_COUNT),
            id,
            host: 'imap.example.com',
            port: 993,
            security: 'tls',
            user: id,
            sealedPassword: await sealer.seal(`password of ${id}`, { kind: 'account', id }),
            mailboxes: ['INBOX'],
            initialSync: 'new',
          };
          return { PutRequest: { Item: marshal(item) } };
        }),
      );
      await seeding.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items } }));
    }
    for (const [shard, mailboxes] of mailboxesByShard) {
      await seeding.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [tableName]: [
              {
                PutRequest: {
                  Item: marshal({
                    ...TABLE_KEYS.accountVersion(String(shard).padStart(5, '0')),
                    version: 1,
                    // One mailbox an account.
                    accounts: mailboxes,
                    mailboxes,
                  }),
                },
              },
            ],
          },
        }),
      );
    }
    log(`seeded ${options.accounts} accounts in ${Date.now() - seeded} ms`);
    kms.calls.length = 0;

    // The tasks.
    const sessions = new Sessions();
    const childEnv = {
      ...process.env,
      ...variables,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      NODE_NO_WARNINGS: '1',
    };
    const started = Date.now();
    for (let i = 0; i < options.tasks; i++) {
      const name = `task-${i}`;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', resolve(import.meta.dirname, 'control-plane-task.ts')],
        {
          env: { ...childEnv, BENCH_WORKER_ID: name },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      const task: Task = { name, child, running: new Set() };
      sessions.tasks.set(name, task);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
        sessions.line(task, line),
      );
      // Started a little apart, as a rolling deploy starts them (all at once, dynalite on 2 cores falls behind).
      await sleep(2_000);
    }
    const progress = setInterval(
      () =>
        log(
          `${sessions.ownedCount()} of ${options.accounts} accounts owned after ${Date.now() - started} ms`,
        ),
      30_000,
    );
    await sessions
      .until(() => sessions.ownedCount() === options.accounts, 600_000, 'every account owned')
      .finally(() => clearInterval(progress));
    const ownedAllAfterMs = Date.now() - started;
    log(`every account owned after ${ownedAllAfterMs} ms`);
    // Let the leases settle (steals towards an even share), then measure a quiet steady state.
    await sleep(20_000);
    const before = snapshot(meter);
    const kmsBefore = kms.calls.length;
    const throttledBefore = throttledOf(meter);
    await sleep(options.steadySeconds * 1000);
    const after = snapshot(meter);
    const unitsPerMailboxHour: Record<string, { read: number; write: number }> = Object.create(null);
    for (const [partition, units] of after) {
      const was = before.get(partition) ?? { read: 0, write: 0 };
      const key = family(partition);
      const sum = unitsPerMailboxHour[key] ?? { read: 0, write: 0 };
      const scale = 3600 / options.steadySeconds / options.accounts;
      sum.read += (units.read - was.read) * scale;
      sum.write += (units.write - was.write) * scale;
      unitsPerMailboxHour[key] = sum;
    }
    const steady = {
      seconds: options.steadySeconds,
      unitsPerMailboxHour,
      throttled: throttledOf(meter) - throttledBefore,
    };
    const kmsDuringSteadyState = kms.calls.length - kmsBefore;

    // Changes, through the real repository (as the API writes them), metered like the tasks' requests.
    const writer = composeAwsAdapters(env, {
      dynamo: new DynamoDBClient({ endpoint: proxy.endpoint, region, credentials }),
      kms: kms.client(),
    });
    const settings = {
      host: 'imap.example.com',
      port: 993,
      security: 'tls' as const,
      initialSync: 'new' as const,
    };
    const eventAfter = (account: string, kind: 'start' | 'stop', since: number) =>
      sessions.events.find((e) => e.account === account && e.kind === kind && e.at >= since);
    /**
     * Makes `write` to each of the changed accounts, 20 a second, and the time from each write until its session
     * started (or stopped, for `kind` 'stop'), once every one has been seen (within a minute each).
     */
    const measure = async (what: string, kind: 'start' | 'stop', write: (id: string) => Promise<unknown>) => {
      const latencies: number[] = [];
      for (let i = 0; i < options.changes; i++) {
        const id = `new-${String(i).padStart(6, '0')}`;
        const at = Date.now();
        await write(id);
        const seen = () =>
          kind === 'start' ? eventAfter(id, 'start', at) !== undefined : sessions.owners(id).length === 0;
        void sessions.until(seen, 60_000, `${id} ${what}`).then(
          () => latencies.push((eventAfter(id, kind, at)?.at ?? Date.now()) - at),
          // Not seen within a minute: the wait for every one below says so.
          () => undefined,
        );
        await sleep(1000 / 20);
      }
      await sessions.until(() => latencies.length === options.changes, 60_000, `every account ${what}`);
      return stats(latencies);
    };
    const put = async (id: string, password: string) =>
      writer.accounts.put({
        ...settings,
        id,
        user: id,
        sealedPassword: await writer.sealer?.seal(password, { kind: 'account', id }),
        mailboxes: ['INBOX'],
      });
    const changeMs = {
      add: await measure('started', 'start', (id) => put(id, 'pw')),
      change: await measure('restarted', 'start', (id) => put(id, 'pw2')),
      remove: await measure('stopped', 'stop', (id) => writer.accounts.remove(id)),
    };
    log(`changes: ${JSON.stringify(changeMs)}`);

    // Failover: SIGKILL (no lease release), then every account owned again by the survivors.
    let failover: ControlPlaneResult['failover'];
    if (options.kill > 0) {
      sessions.mostHeld = Math.max(...[...sessions.tasks.values()].map((t) => t.running.size));
      const killedAt = Date.now();
      for (const task of [...sessions.tasks.values()].slice(0, options.kill)) {
        task.child.kill('SIGKILL');
        sessions.tasks.delete(task.name);
      }
      await sessions.until(
        () => sessions.ownedCount() === options.accounts,
        300_000,
        'every account owned again',
      );
      failover = {
        killed: options.kill,
        ownedAgainAfterMs: Date.now() - killedAt,
        mostMailboxesHeld: sessions.mostHeld,
        cap,
      };
      log(`failover: ${JSON.stringify(failover)}`);
    }
    await sleep(1_000);
    const duplicatesAtEnd = [...new Set([...sessions.tasks.values()].flatMap((t) => [...t.running]))].filter(
      (account) => sessions.owners(account).length > 1,
    ).length;
    return {
      ownedAllAfterMs,
      steady,
      kmsCalls: { total: kms.calls.length, duringSteadyState: kmsDuringSteadyState },
      changeMs,
      failover,
      throttledTotal: throttledOf(meter),
      duplicatesAtEnd,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await proxy.close();
    await kms.close();
    await new Promise<void>((done) => server.close(() => done()));
  }
}

function stats(values: readonly number[]) {
  return { p50: percentile(values, 50), p99: percentile(values, 99), n: values.length };
}

function snapshot(meter: PartitionMeter): Map<string, { read: number; write: number }> {
  return new Map([...meter.totals].map(([partition, units]) => [partition, { ...units }]));
}

function throttledOf(meter: PartitionMeter): number {
  return [...meter.throttled.values()].reduce((a, b) => a + b, 0);
}

/** A plain item as DynamoDB's wire format (strings, numbers and string lists only: what an account item holds). */
function marshal(item: Record<string, string | number | string[]>) {
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [
      name,
      typeof value === 'number'
        ? { N: String(value) }
        : Array.isArray(value)
          ? { L: value.map((S) => ({ S })) }
          : { S: value },
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '10000' },
      tasks: { type: 'string', default: '3' },
      changes: { type: 'string', default: '100' },
      kill: { type: 'string', default: '1' },
      steady: { type: 'string', default: '60' },
    },
  });
  const result = await runControlPlaneBenchmark({
    accounts: Number(values.accounts),
    tasks: Number(values.tasks),
    changes: Number(values.changes),
    kill: Number(values.kill),
    steadySeconds: Number(values.steady),
    log: (line) => console.log(`# ${line}`),
  });
  console.log(JSON.stringify(result, null, 2));
  // What `npm run cost` reads: the figures with the run's size, date and machine.
  writeBenchResult('control-plane', {
    accounts: Number(values.accounts),
    tasks: Number(values.tasks),
    ...result,
  });
  process.exit(0);
}
