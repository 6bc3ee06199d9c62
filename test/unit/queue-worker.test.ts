import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { QueueWorker } from '../../src/adapters/local/queue-worker.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { DeliveryRecord, IngestRecord } from '../../src/pipeline/records.js';
import type { HandOffConsumer, QueueMessage } from '../../src/ports/pipeline.js';
import type { Logger } from '../../src/ports/services.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const newStores = () => openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-worker-')), systemClock);

function delivery(eventId: string, subscriptionId = 'sub_a'): DeliveryRecord {
  return { eventId, eventType: 'message.received', subscriptionId, body: `{"id":"${eventId}"}` };
}

/** A hand-off consumer that notes what the queue asks of it; `room` answers each reserve. */
function recordingConsumer(room: (group: string | null) => boolean = () => true) {
  const calls: string[] = [];
  const taken: QueueMessage<DeliveryRecord>[] = [];
  const consumer: HandOffConsumer<DeliveryRecord> = {
    reserve: (group) => {
      const granted = room(group);
      calls.push(`reserve ${group} ${granted}`);
      return granted;
    },
    cancel: (group) => void calls.push(`cancel ${group}`),
    take: (message) => {
      calls.push(`take ${message.body.eventId}`);
      taken.push(message);
    },
  };
  return { consumer, calls, taken };
}

const eventIds = (messages: readonly QueueMessage<DeliveryRecord>[]) => messages.map((m) => m.body.eventId);

describe('QueueWorker', () => {
  it('retries recording an outcome the database refused (SQLITE_BUSY), and the record is handled again', async () => {
    const stores = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-worker-')), systemClock);
    const queue = stores.ingest;
    const errors: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message) => void errors.push(message),
    };
    const retryLater = queue.retryLater.bind(queue);
    let refusals = 2;
    queue.retryLater = async (id, delayMs) => {
      if (refusals-- > 0) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return retryLater(id, delayMs);
    };
    const record = { kind: 'event' } as unknown as IngestRecord;
    await queue.send([{ deduplicationKey: 'k', body: record }]);
    let handled = 0;
    let redelivered!: () => void;
    const done = new Promise<void>((resolve) => {
      redelivered = resolve;
    });
    const worker = new QueueWorker(
      queue,
      async () => {
        handled += 1;
        if (handled === 1) return { kind: 'retry', delayMs: 0 };
        redelivered();
        return { kind: 'done' };
      },
      { name: 'ingest', concurrency: 4, logger },
    );
    worker.start();
    await done;
    await worker.stop();
    assert.equal(handled, 2, 'the record came back after its re-scheduling finally went through');
    assert.equal(queue.depth(), 0, 'and was acknowledged');
    assert.equal(errors.filter((e) => e.includes('trying again')).length, 2);
    stores.close();
  });

  it('stops only once a receive under way has finished, so the database can close after it', async () => {
    const stores = newStores();
    const errors: string[] = [];
    const logger: Logger = { ...silent, error: (message) => void errors.push(message) };
    await stores.ingest.send([{ deduplicationKey: 'k', body: { kind: 'event' } as unknown as IngestRecord }]);
    let handled = 0;
    const worker = new QueueWorker(
      stores.ingest,
      async () => {
        handled += 1;
        return { kind: 'done' };
      },
      { name: 'ingest', concurrency: 4, logger },
    );
    worker.start();
    // The worker's first receive has started and waits for its transaction, queued for the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    await worker.stop();
    stores.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(errors, [], 'no receive ran on the closed database');
    assert.equal(handled, 1, 'the record that receive leased was handled before stop returned');
  });
});

describe('SqliteQueue hand-off', () => {
  it('hands a new record to a consumer with room, stored already leased: no receive gets it', async () => {
    const stores = newStores();
    const { consumer, calls, taken } = recordingConsumer();
    stores.deliveries.handOffTo(consumer);
    const record = delivery('evt_1');
    await stores.deliveries.send([{ deduplicationKey: 'evt_1:sub_a', body: record }]);
    assert.deepEqual(calls, ['reserve sub_a true', 'take evt_1']);
    assert.equal(taken[0]?.body, record, "the sender's own record, not a copy read back");
    assert.equal(taken[0]?.receiveCount, 1);
    assert.equal(stores.deliveries.depth(), 1, 'stored until acknowledged');
    assert.deepEqual(await stores.deliveries.receive(10), [], 'leased: a receive does not hand it out again');
    await stores.deliveries.acknowledge(taken[0]?.id ?? '');
    assert.equal(stores.deliveries.depth(), 0);
    stores.close();
  });

  it('stores a record behind one that is due, so the waiting one keeps its turn', async () => {
    const stores = newStores();
    await stores.deliveries.send([{ deduplicationKey: 'a', body: delivery('evt_waiting') }]);
    const { consumer, calls } = recordingConsumer();
    stores.deliveries.handOffTo(consumer);
    await stores.deliveries.send([{ deduplicationKey: 'b', body: delivery('evt_new') }]);
    assert.deepEqual(calls, [], 'not offered while a record is due ahead of it');
    assert.deepEqual(eventIds(await stores.deliveries.receive(10)), ['evt_waiting', 'evt_new']);
    stores.close();
  });

  it('keeps the order within one send: after a record the consumer has no room for, the rest are stored too', async () => {
    const stores = newStores();
    let offers = 0;
    const { consumer, calls } = recordingConsumer(() => offers++ > 0);
    stores.deliveries.handOffTo(consumer);
    await stores.deliveries.send([
      { deduplicationKey: 'a', body: delivery('evt_a') },
      { deduplicationKey: 'b', body: delivery('evt_b') },
    ]);
    assert.deepEqual(calls, ['reserve sub_a false']);
    assert.deepEqual(eventIds(await stores.deliveries.receive(10)), ['evt_a', 'evt_b']);
    stores.close();
  });

  it('offers no delayed record, and one waiting for later does not hold back the next', async () => {
    const stores = newStores();
    const { consumer, calls } = recordingConsumer();
    stores.deliveries.handOffTo(consumer);
    await stores.deliveries.send([
      { deduplicationKey: 'later', body: delivery('evt_later'), delayMs: 60_000 },
      { deduplicationKey: 'now', body: delivery('evt_now') },
    ]);
    assert.deepEqual(calls, ['reserve sub_a true', 'take evt_now']);
    assert.equal(stores.deliveries.nextVisibleInMs() !== undefined, true);
    stores.close();
  });

  it('gives back the room of a duplicate: the record already stored is not handed out twice', async () => {
    const stores = newStores();
    const { consumer, calls } = recordingConsumer();
    stores.deliveries.handOffTo(consumer);
    await stores.deliveries.send([{ deduplicationKey: 'same', body: delivery('evt_1') }]);
    await stores.deliveries.send([{ deduplicationKey: 'same', body: delivery('evt_1') }]);
    assert.deepEqual(calls, ['reserve sub_a true', 'take evt_1', 'reserve sub_a true', 'cancel sub_a']);
    assert.equal(stores.deliveries.depth(), 1);
    stores.close();
  });

  it('gives back the room it kept when storing fails, and hands nothing over', async () => {
    const stores = newStores();
    const calls: string[] = [];
    stores.ingest.handOffTo({
      reserve: (group) => {
        calls.push(`reserve ${group}`);
        return true;
      },
      cancel: (group) => void calls.push(`cancel ${group}`),
      take: () => void calls.push('take'),
    });
    // A body that serializes to nothing is refused by the table's NOT NULL, after the room was kept.
    await assert.rejects(
      stores.ingest.send([{ deduplicationKey: 'k', body: undefined as unknown as IngestRecord }]),
    );
    assert.deepEqual(calls, ['reserve null', 'cancel null']);
    assert.equal(stores.ingest.depth(), 0);
    stores.close();
  });

  it('hands a record out again at the next start when the process ended before acknowledging it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-worker-'));
    const first = openLocalStores(dir, systemClock);
    first.deliveries.handOffTo(recordingConsumer().consumer);
    await first.deliveries.send([{ deduplicationKey: 'k', body: delivery('evt_1') }]);
    first.close();
    const next = openLocalStores(dir, systemClock);
    next.deliveries.releaseStaleLeases();
    const [again] = await next.deliveries.receive(10);
    assert.equal(again?.body.eventId, 'evt_1');
    assert.equal(again?.receiveCount, 2, 'the hand-off counted as its first receive');
    next.close();
  });

  it('through a worker: a record is handed over while its endpoint has room, and stored past its limit', async () => {
    const stores = newStores();
    const handled: { eventId: string; sameObject: boolean }[] = [];
    const sent = new Map<string, DeliveryRecord>();
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let allHandled!: () => void;
    const done = new Promise<void>((resolve) => {
      allHandled = resolve;
    });
    const worker = new QueueWorker(
      stores.deliveries,
      async (message) => {
        handled.push({
          eventId: message.body.eventId,
          sameObject: sent.get(message.body.eventId) === message.body,
        });
        if (message.body.eventId === 'evt_1') await firstHeld;
        if (handled.length === 3) allHandled();
        return { kind: 'done' };
      },
      { name: 'delivery', concurrency: 8, perGroupLimit: 1, logger: silent },
    );
    worker.start();
    const send = async (eventId: string, subscriptionId: string) => {
      const record = delivery(eventId, subscriptionId);
      sent.set(eventId, record);
      await stores.deliveries.send([{ deduplicationKey: eventId, body: record }]);
    };
    await send('evt_1', 'sub_a');
    await send('evt_2', 'sub_a');
    assert.deepEqual(handled, [{ eventId: 'evt_1', sameObject: true }], 'sub_a is at its limit: evt_2 waits');
    releaseFirst();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await send('evt_3', 'sub_b');
    await done;
    await worker.stop();
    assert.deepEqual(handled, [
      { eventId: 'evt_1', sameObject: true },
      { eventId: 'evt_2', sameObject: false },
      { eventId: 'evt_3', sameObject: true },
    ]);
    assert.equal(stores.deliveries.depth(), 0, 'all acknowledged');
    stores.close();
  });
});
