import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DynamoDbStateStore } from '../../src/adapters/aws/dynamodb-state-store.js';
import { S3BlobStore } from '../../src/adapters/aws/s3-blob-store.js';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import type { CursorStore, DeliveryLog, SubscriptionStatusStore } from '../../src/ports/index.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';

type StateStore = CursorStore & DeliveryLog & SubscriptionStatusStore;

const clock = { time: 1_000_000, now: () => clock.time };

/** The same behaviour, asserted on every implementation of the state ports. */
function stateStoreContract(name: string, open: () => Promise<StateStore>): void {
  describe(`${name} state store`, () => {
    let store: StateStore;
    beforeEach(async () => {
      store = await open();
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
      assert.deepEqual((await store.listDeadLetters())[0], letter);
      await store.deadLetter({ ...letter, reason: 'replay failed: HTTP 500', attempts: 9, failedAt: 4_000 });
      const again = (await store.listDeadLetters()).filter((l) => l.eventId === 'evt_a');
      assert.equal(again.length, 1);
      assert.equal(again[0]?.reason, 'replay failed: HTTP 500');

      assert.equal(await store.isDelivered('evt_a', 'hook'), false);
      await store.markDelivered('evt_a', 'hook', 10);
      assert.equal(await store.isDelivered('evt_a', 'hook'), true);
      assert.equal(await store.isDelivered('evt_a', 'other'), false);
      await store.deadLetter(letter);
      assert.deepEqual(
        (await store.listDeadLetters()).map((l) => l.eventId),
        ['evt_b'],
      );
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
      assert.equal(letter?.body, body);
      await store.markDelivered('evt_big', 'hook', 9);
      assert.deepEqual(await store.listDeadLetters(), []);
    });

    it('disables a subscription once, with the first reason, until enabled', async () => {
      assert.equal(await store.disabledReason('hook'), undefined);
      await store.disable('hook', 'HTTP 410');
      await store.disable('hook', 'something else');
      assert.equal(await store.disabledReason('hook'), 'HTTP 410');
      await store.enable('hook');
      assert.equal(await store.disabledReason('hook'), undefined);
    });
  });
}

stateStoreContract(
  'SQLite (local mode)',
  async () => openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-contract-')), clock).state,
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
  // Nor does it enforce DynamoDB's 400 KB item limit, so this checks where a large body went.
  it('puts a dead-letter body over 300 KB in S3, not in the item', async () => {
    const store = new DynamoDbStateStore(dynamo.client, await dynamo.createTable(), clock, overflow);
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
  });

  stateStoreContract(
    'DynamoDB',
    async () => new DynamoDbStateStore(dynamo.client, await dynamo.createTable(), clock, overflow),
  );
});
