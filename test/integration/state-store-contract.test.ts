import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbAttemptLog } from '../../src/adapters/aws/dynamodb-attempt-log.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbEndpointThrottle } from '../../src/adapters/aws/dynamodb-endpoint-throttle.js';
import { DynamoDbStateStore } from '../../src/adapters/aws/dynamodb-state-store.js';
import { S3BlobStore } from '../../src/adapters/aws/s3-blob-store.js';
import { DEAD_LETTER_INDEX, DEAD_LETTER_INDEX_KEYS } from '../../src/adapters/aws/state-table.js';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { deadLetterOrderKey } from '../../src/pipeline/dead-letter-pages.js';
import type {
  AttemptLog,
  DeadLetterQuery,
  DeliveryAttempt,
  DeliveryLog,
  EndpointThrottle,
  SubscriptionStatusStore,
} from '../../src/ports/pipeline.js';
import type { CursorStore } from '../../src/ports/watcher.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';

type StateStore = CursorStore & DeliveryLog & SubscriptionStatusStore;
interface Stores {
  readonly state: StateStore;
  readonly attempts: AttemptLog;
  readonly throttle: EndpointThrottle;
}

const clock = { time: 1_000_000, now: () => clock.time };

/** The same behaviour, asserted on every implementation of the state ports. */
function stateStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} state store`, () => {
    let store: StateStore;
    let stores: Stores;
    beforeEach(async () => {
      stores = await open();
      store = stores.state;
    });

    it('moves a cursor forward only, never across a UIDVALIDITY change, and keeps HIGHESTMODSEQ when none is given', async () => {
      assert.equal(await store.getCursor('acct', 'INBOX'), undefined);
      await store.advanceCursor('acct', 'INBOX', { uidValidity: '7', lastUid: 5, highestModseq: '1' });
      assert.equal(await store.getCursor('acct', 'INBOX'), undefined, 'advancing needs a cursor to advance');
      await store.resetCursor('acct', 'INBOX', { uidValidity: '7', lastUid: 10, highestModseq: '100' });
      await store.advanceCursor('acct', 'INBOX', { uidValidity: '7', lastUid: 12, highestModseq: null });
      await store.advanceCursor('acct', 'INBOX', { uidValidity: '7', lastUid: 11, highestModseq: '999' });
      await store.advanceCursor('acct', 'INBOX', { uidValidity: '8', lastUid: 50, highestModseq: '999' });
      assert.deepEqual(await store.getCursor('acct', 'INBOX'), {
        uidValidity: '7',
        lastUid: 12,
        highestModseq: '100',
      });
      await store.advanceCursor('acct', 'INBOX', {
        uidValidity: '7',
        lastUid: 20,
        highestModseq: '18446744073709551615',
      });
      assert.deepEqual(await store.getCursor('acct', 'INBOX'), {
        uidValidity: '7',
        lastUid: 20,
        highestModseq: '18446744073709551615',
      });
      await store.resetCursor('acct', 'INBOX', { uidValidity: '9', lastUid: 3, highestModseq: null });
      assert.deepEqual(await store.getCursor('acct', 'INBOX'), {
        uidValidity: '9',
        lastUid: 3,
        highestModseq: null,
      });
      assert.equal(await store.getCursor('acct', 'Sent'), undefined);
    });

    it('records dead letters, lists them oldest first, and never downgrades a delivery', async () => {
      const letter = {
        eventId: 'evt_a',
        subscriptionId: 'hook',
        eventType: 'message.received',
        body: '{"type":"message.received"}',
        reason: 'HTTP 503 after 8 attempts',
        attempts: 8,
        failedAt: 2_000,
      };
      await store.deadLetter({ ...letter, eventId: 'evt_b', failedAt: 3_000 });
      await store.deadLetter(letter);
      assert.deepEqual(
        (await store.listDeadLetters()).map((l) => l.eventId),
        ['evt_a', 'evt_b'],
      );
      const { body, ...summary } = letter;
      assert.deepEqual((await store.listDeadLetters())[0], summary, 'listed without its body');
      assert.equal(await store.deadLetterBody('evt_a', 'hook'), body);
      assert.equal(await store.deadLetterBody('evt_a', 'other'), undefined);
      await store.deadLetter({ ...letter, reason: 'replay failed: HTTP 500', attempts: 9, failedAt: 4_000 });
      const again = (await store.listDeadLetters()).filter((l) => l.eventId === 'evt_a');
      assert.equal(again.length, 1);
      assert.equal(again[0]?.reason, 'replay failed: HTTP 500');

      assert.equal(await store.isDelivered('evt_a', 'hook'), false);
      await store.markDelivered('evt_a', 'hook', 10);
      assert.equal(await store.isDelivered('evt_a', 'hook'), true);
      assert.equal(await store.deadLetterBody('evt_a', 'hook'), undefined, 'delivered: no dead letter body');
      assert.equal(await store.isDelivered('evt_a', 'other'), false);
      await store.deadLetter(letter);
      assert.deepEqual(
        (await store.listDeadLetters()).map((l) => l.eventId),
        ['evt_b'],
      );
    });

    it('lists many dead letters oldest first (in DynamoDB they are spread over 16 index keys)', async () => {
      const times = Array.from({ length: 40 }, (_, i) => 10_000 + ((i * 7919) % 40) * 10);
      for (const [i, failedAt] of times.entries())
        await store.deadLetter({
          eventId: `evt_many_${i}`,
          subscriptionId: 'hook',
          eventType: 'message.received',
          body: '{}',
          reason: 'HTTP 503',
          attempts: 8,
          failedAt,
        });
      const listed = (await store.listDeadLetters()).filter((l) => l.eventId.startsWith('evt_many_'));
      assert.equal(listed.length, 40);
      assert.deepEqual(
        listed.map((l) => l.failedAt),
        [...times].sort((a, b) => a - b),
      );
      for (const [i] of times.entries()) await store.markDelivered(`evt_many_${i}`, 'hook', 1);
    });

    it('pages dead letters oldest or newest first, by subscription and time range, each once', async () => {
      const letters = Array.from({ length: 30 }, (_, i) => ({
        eventId: `evt_page_${String(i).padStart(2, '0')}`,
        subscriptionId: i % 3 === 0 ? 'audit' : 'hook',
        eventType: 'message.received',
        body: '{}',
        reason: 'HTTP 503',
        attempts: 8,
        // Pairs fail at the same moment: the event id orders them.
        failedAt: 50_000 + Math.floor(((i * 7) % 30) / 2) * 10,
      }));
      for (const letter of letters) await store.deadLetter(letter);
      const walk = async (query: Omit<DeadLetterQuery, 'after' | 'limit'>, limit: number) => {
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 50; pages++) {
          const page = await store.deadLetterPage({ ...query, limit, after });
          assert.ok(page.letters.length <= limit);
          seen.push(...page.letters.map((l) => l.eventId));
          const last = page.letters.at(-1);
          if (!page.more || !last) return seen;
          after = deadLetterOrderKey(last);
        }
        assert.fail('more pages than letters');
      };
      const expected = (keep: (l: (typeof letters)[number]) => boolean, newestFirst = false) =>
        letters
          .filter(keep)
          .map((l) => ({ key: deadLetterOrderKey(l), id: l.eventId }))
          .sort((a, b) => (a.key < b.key ? -1 : 1) * (newestFirst ? -1 : 1))
          .map((l) => l.id);
      const ours = { since: 50_000 };
      assert.deepEqual(
        await walk({ filter: ours }, 7),
        expected(() => true),
      );
      assert.deepEqual(
        await walk({ filter: ours, newestFirst: true }, 4),
        expected(() => true, true),
      );
      assert.deepEqual(
        await walk({ filter: { ...ours, subscriptionId: 'audit' } }, 3),
        expected((l) => l.subscriptionId === 'audit'),
      );
      const range = { since: 50_040, until: 50_100 };
      const inRange = (l: (typeof letters)[number]) => l.failedAt >= range.since && l.failedAt < range.until;
      assert.deepEqual(await walk({ filter: range }, 5), expected(inRange));
      assert.deepEqual(await walk({ filter: range, newestFirst: true }, 5), expected(inRange, true));
      assert.deepEqual(await store.deadLetterPage({ limit: 5, filter: { since: 60_000 } }), {
        letters: [],
        more: false,
      });
      for (const letter of letters) await store.markDelivered(letter.eventId, letter.subscriptionId, 1);
    });

    it('keeps a dead letter whose body is larger than a DynamoDB item (400 KB), byte for byte', async () => {
      const body = JSON.stringify({ type: 'message.received', data: { html: 'é'.repeat(300_000) } });
      await store.deadLetter({
        eventId: 'evt_big',
        subscriptionId: 'hook',
        eventType: 'message.received',
        body,
        reason: 'HTTP 500',
        attempts: 8,
        failedAt: 5_000,
      });
      const [letter] = await store.listDeadLetters();
      assert.equal(letter?.eventId, 'evt_big');
      assert.equal(await store.deadLetterBody('evt_big', 'hook'), body);
      await store.markDelivered('evt_big', 'hook', 9);
      assert.deepEqual(await store.listDeadLetters(), []);
    });

    it('disables a subscription once, with the first reason, until enabled', async () => {
      assert.deepEqual(await store.health('hook'), {});
      assert.equal(await store.disable('hook', 'HTTP 410'), true);
      assert.equal(await store.disable('hook', 'something else'), false);
      assert.equal((await store.health('hook')).disabledReason, 'HTTP 410');
      await store.enable('hook');
      assert.deepEqual(await store.health('hook'), {});
    });

    it('keeps the start of a failing period until the endpoint recovers; enabling clears it', async () => {
      await store.markHealthy('hook');
      assert.deepEqual(await store.health('hook'), {}, 'healthy without ever failing');
      await store.markFailing('hook', 1_000);
      await store.markFailing('hook', 2_000);
      assert.deepEqual(await store.health('hook'), { failingSince: 1_000 });
      await store.markHealthy('hook');
      await store.markFailing('hook', 3_000);
      assert.deepEqual(await store.health('hook'), { failingSince: 3_000 });
      await store.disable('hook', 'failing');
      assert.deepEqual(await store.health('hook'), { failingSince: 3_000, disabledReason: 'failing' });
      await store.enable('hook');
      assert.deepEqual(await store.health('hook'), {});
      assert.deepEqual(await store.health('other'), {});
    });

    it('keeps UID gaps per mailbox and the folder tree per account', async () => {
      assert.equal(await store.getUidGaps('acct', 'INBOX'), undefined);
      await store.setUidGaps('acct', 'INBOX', { uidValidity: '7', gaps: '1:4,9' });
      await store.setUidGaps('acct', 'INBOX', { uidValidity: '7', gaps: '1:4,9:10' });
      assert.deepEqual(await store.getUidGaps('acct', 'INBOX'), { uidValidity: '7', gaps: '1:4,9:10' });
      assert.equal(await store.getUidGaps('acct', 'Sent'), undefined);

      assert.equal(await store.getFolderTree('acct'), undefined);
      const tree = [
        { path: 'INBOX', delimiter: '/', specialUse: '\\Inbox', uidValidity: '7', selectable: true },
        { path: 'Projects', delimiter: '/', specialUse: null, uidValidity: null, selectable: false },
      ];
      await store.setFolderTree('acct', tree);
      assert.deepEqual(await store.getFolderTree('acct'), tree);
      assert.equal(await store.getFolderTree('other'), undefined);
    });

    it('keeps UID gaps and folder trees far larger than a DynamoDB item (400 KB), and small ones again after', async () => {
      // Every other UID expunged in a 200,000-message mailbox; 20,000 folders.
      const gaps = Array.from({ length: 100_000 }, (_, i) => 2 * i + 1).join(',');
      await store.setUidGaps('acct', 'Archive', { uidValidity: '9', gaps });
      assert.deepEqual(await store.getUidGaps('acct', 'Archive'), { uidValidity: '9', gaps });
      const tree = Array.from({ length: 20_000 }, (_, i) => ({
        path: `Customers/Customer ${i}/Tickets`,
        delimiter: '/',
        specialUse: null,
        uidValidity: String(1_000_000 + i),
        selectable: true,
      }));
      await store.setFolderTree('big', tree);
      assert.deepEqual(await store.getFolderTree('big'), tree);
      await store.setFolderTree('big', tree.slice(0, 2));
      assert.deepEqual(await store.getFolderTree('big'), tree.slice(0, 2));
      await store.setUidGaps('acct', 'Archive', { uidValidity: '9', gaps: '1:3' });
      assert.deepEqual(await store.getUidGaps('acct', 'Archive'), { uidValidity: '9', gaps: '1:3' });
    });

    it('logs attempts per endpoint and lists the newest first', async () => {
      const attempt = (n: number, extra: Partial<DeliveryAttempt> = {}): DeliveryAttempt => ({
        subscriptionId: 'hook',
        eventId: `evt_${n}`,
        eventType: 'message.received',
        attempt: 1,
        attemptedAt: 1_000 * n,
        durationMs: 12,
        succeeded: false,
        ...extra,
      });
      await stores.attempts.recordAttempt(attempt(1, { status: 500, responseExcerpt: 'db down' }));
      await stores.attempts.recordAttempt(attempt(2, { error: 'timed out after 15 s' }));
      await stores.attempts.recordAttempt(attempt(3, { status: 204, succeeded: true }));
      await stores.attempts.recordAttempt(
        attempt(4, { subscriptionId: 'other', status: 200, succeeded: true }),
      );
      assert.deepEqual(await stores.attempts.listAttempts('hook', 2), [
        attempt(3, { status: 204, succeeded: true }),
        attempt(2, { error: 'timed out after 15 s' }),
      ]);
      assert.deepEqual(
        (await stores.attempts.listAttempts('hook', 10)).map((a) => a.responseExcerpt),
        [undefined, undefined, 'db down'],
      );
      assert.deepEqual(await stores.attempts.listAttempts('nobody', 10), []);
    });

    it('admits requests per endpoint within the rate limit, in one-second windows', async () => {
      clock.time = 5_000_250;
      assert.equal((await stores.throttle.admit('hook', 2)).admitted, true);
      assert.equal((await stores.throttle.admit('hook', 2)).admitted, true);
      assert.deepEqual(await stores.throttle.admit('hook', 2), { admitted: false, retryInMs: 750 });
      assert.equal((await stores.throttle.admit('other', 2)).admitted, true, 'each endpoint has its own');
      clock.time = 5_001_000;
      assert.equal((await stores.throttle.admit('hook', 2)).admitted, true, 'a new second, a new window');
    });
  });
}

stateStoreContract('SQLite (local mode)', async () =>
  openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-contract-')), clock),
);

describe('DynamoDB, on dynalite (large dead-letter bodies in S3, on fauxqs)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let overflow: S3BlobStore;
  before(async () => {
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    overflow = new S3BlobStore(aws.s3, await aws.createBucket('dead-letter-overflow'));
  });
  after(async () => {
    await aws.stop();
    await dynamo.stop();
  });
  // dynalite does not expire items (no TTL): the expiresAt written for delivered outcomes is not exercised here.
  // The 400 KB item limit is enforced by the AWS-limits layer in front of dynalite.
  it('puts a dead-letter body over 300 KB in S3, not in the item, lists it without reading S3, and deletes it once replayed', async () => {
    let reads = 0;
    const counted = {
      put: overflow.put.bind(overflow),
      delete: overflow.delete.bind(overflow),
      url: overflow.url.bind(overflow),
      get: (key: string) => {
        reads++;
        return overflow.get(key);
      },
    };
    const store = new DynamoDbStateStore(
      stateTable(dynamo.client, await dynamo.createTable()),
      clock,
      counted,
    );
    const body = 'x'.repeat(400_000);
    await store.deadLetter({
      eventId: 'evt_s3',
      subscriptionId: 'hook',
      eventType: 't',
      body,
      reason: 'r',
      attempts: 1,
      failedAt: 1,
    });
    assert.equal((await overflow.get('dead-letters/evt_s3/hook.json'))?.toString(), body);
    assert.deepEqual(
      (await store.listDeadLetters()).map((l) => l.eventId),
      ['evt_s3'],
    );
    assert.equal(reads, 0, 'a listing (the dashboard polls one) fetches no bodies');
    assert.equal(await store.deadLetterBody('evt_s3', 'hook'), body);
    assert.equal(reads, 1);
    await store.markDelivered('evt_s3', 'hook', 2);
    assert.equal(await overflow.get('dead-letters/evt_s3/hook.json'), undefined);
  });

  it('copies no dead-letter body into the index: a listing reads the listed fields only', async () => {
    const tableName = await dynamo.createTable();
    const store = new DynamoDbStateStore(stateTable(dynamo.client, tableName), clock, overflow);
    const body = 'y'.repeat(200_000); // inline: under the 300 KB that goes to S3
    const letter = { eventType: 't', body, reason: 'r', attempts: 3, failedAt: 7 };
    await store.deadLetter({ eventId: 'evt_index', subscriptionId: 'hook', ...letter });
    const copies = await Promise.all(
      DEAD_LETTER_INDEX_KEYS.map((key) =>
        dynamo.client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: DEAD_LETTER_INDEX.name,
            KeyConditionExpression: 'gsi1pk = :key',
            ExpressionAttributeValues: { ':key': { S: key } },
          }),
        ),
      ),
    );
    const [copy, ...others] = copies.flatMap((answer) => answer.Items ?? []);
    assert.equal(others.length, 0);
    assert.deepEqual(Object.keys(copy ?? {}).sort(), [
      'attempts',
      'eventType',
      'failedAt',
      'gsi1pk',
      'gsi1sk',
      'pk',
      'reason',
      'sk',
    ]);
    assert.equal((await store.listDeadLetters())[0]?.attempts, 3);
    assert.equal(await store.deadLetterBody('evt_index', 'hook'), body, 'the body stays in the item');
  });

  it('refuses cursor writes under an older lease epoch than the last write (a watcher that lost the mailbox)', async () => {
    const store = new DynamoDbStateStore(
      stateTable(dynamo.client, await dynamo.createTable()),
      clock,
      overflow,
    );
    const cursor = (lastUid: number) => ({ uidValidity: '7', lastUid, highestModseq: null });
    await store.resetCursor('acct', 'INBOX', cursor(10), { epoch: 3 });
    await store.advanceCursor('acct', 'INBOX', cursor(12), { epoch: 3 });
    // Another watcher took the lease (epoch 5) and moved on.
    await store.advanceCursor('acct', 'INBOX', cursor(15), { epoch: 5 });
    await assert.rejects(
      store.advanceCursor('acct', 'INBOX', cursor(20), { epoch: 3 }),
      (error: Error & { code?: string }) => error.code === 'MAILBOX_NOT_OWNED',
    );
    await assert.rejects(
      store.resetCursor('acct', 'INBOX', { uidValidity: '8', lastUid: 1, highestModseq: null }, { epoch: 4 }),
      (error: Error & { code?: string }) => error.code === 'MAILBOX_NOT_OWNED',
    );
    assert.deepEqual(await store.getCursor('acct', 'INBOX'), cursor(15), 'the old owner moved nothing');
    // Under the current lease, a write behind the cursor is refused quietly, as without leases.
    await store.advanceCursor('acct', 'INBOX', cursor(14), { epoch: 5 });
    await store.advanceCursor('acct', 'INBOX', cursor(16), { epoch: 6 });
    assert.deepEqual(await store.getCursor('acct', 'INBOX'), cursor(16));
  });

  stateStoreContract('DynamoDB', async () => {
    const table = await dynamo.createTable();
    return {
      state: new DynamoDbStateStore(stateTable(dynamo.client, table), clock, overflow),
      attempts: new DynamoDbAttemptLog(stateTable(dynamo.client, table)),
      throttle: new DynamoDbEndpointThrottle(stateTable(dynamo.client, table), clock),
    };
  });
});
