import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { S3BlobStore } from '../../src/adapters/aws/s3-blob-store.js';
import { SqsQueue } from '../../src/adapters/aws/sqs-queue.js';
import { startLocalHttpServer } from '../../src/adapters/local/local-http-server.js';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { createHttpApp } from '../../src/app/http-app.js';
import { createBlobLinkHandler } from '../../src/compose/aws/blob-link-handler.js';
import { signBlobLink } from '../../src/domain/blob-links.js';
import type { IngestRecord } from '../../src/pipeline/records.js';
import type { EventQueue } from '../../src/ports/pipeline.js';
import type { BlobStore } from '../../src/ports/services.js';
import { startSqsAndS3 } from '../support/aws-emulators.js';
import { startLinkEndpoint } from '../support/link-endpoint.js';

const event = (id: string, padding = ''): IngestRecord => ({
  kind: 'event',
  event: {
    id,
    type: 'account.error',
    timestamp: '2026-11-27T00:00:00Z',
    data: {
      account: 'a',
      code: 'TEST',
      kind: 'network',
      message: padding,
      host: 'h',
      port: 993,
      nextLoginAttemptAt: null,
    },
  },
});
const idOf = (record: IngestRecord | undefined) => (record?.kind === 'event' ? record.event.id : undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function receiveAll(queue: EventQueue<IngestRecord>, expected: number) {
  const received = [];
  for (let i = 0; i < 20 && received.length < expected; i++) received.push(...(await queue.receive(10)));
  return received;
}

function queueContract(
  name: string,
  open: () => Promise<EventQueue<IngestRecord>>,
  deduplicates: boolean,
): void {
  describe(`${name} queue`, () => {
    it('delivers what was sent, hides it while leased, and brings it back after retryLater', async () => {
      const queue = await open();
      await queue.send([
        { deduplicationKey: 'one', body: event('one') },
        { deduplicationKey: 'two', body: event('two') },
      ]);
      const received = await receiveAll(queue, 2);
      assert.deepEqual(received.map((m) => idOf(m.body)).sort(), ['one', 'two']);
      assert.ok(received.every((m) => m.receiveCount === 1));
      assert.deepEqual(await queue.receive(10), [], 'leased messages are invisible');

      const [first, second] = received;
      await queue.acknowledge(first?.id ?? '');
      await queue.retryLater(second?.id ?? '', 1000);
      assert.deepEqual(await queue.receive(10), []);
      await sleep(1300);
      const again = await receiveAll(queue, 1);
      assert.deepEqual(
        again.map((m) => [idOf(m.body), m.receiveCount]),
        [[idOf(second?.body), 2]],
      );
      await queue.acknowledge(again[0]?.id ?? '');
      assert.deepEqual(await queue.receive(10), []);
    });

    it('carries a body larger than an SQS message (1 MiB) intact', async () => {
      const queue = await open();
      const big = event('big', 'x'.repeat(1_200_000));
      await queue.send([{ deduplicationKey: 'big', body: big }]);
      const [message] = await receiveAll(queue, 1);
      assert.deepEqual(message?.body, big);
    });

    if (deduplicates) {
      it('drops a message whose deduplication key was just sent', async () => {
        const queue = await open();
        await queue.send([{ deduplicationKey: 'same', body: event('first') }]);
        await queue.send([{ deduplicationKey: 'same', body: event('second') }]);
        const received = await receiveAll(queue, 2);
        assert.deepEqual(
          received.map((m) => idOf(m.body)),
          ['first'],
        );
      });
    }
  });
}

function blobContract(name: string, open: () => Promise<BlobStore>): void {
  describe(`${name} blob store`, () => {
    it('stores exact bytes and serves them at the URL it hands out', async () => {
      const blobs = await open();
      const bytes = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x00]);
      await blobs.put('raw/evt_contract.eml', bytes);
      assert.ok((await blobs.get('raw/evt_contract.eml'))?.equals(bytes));
      assert.equal(await blobs.get('raw/evt_missing.eml'), undefined);
      const response = await fetch(await blobs.url('raw/evt_contract.eml'));
      assert.equal(response.status, 200);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
    });
  });
}

describe('local mode (SQLite)', () => {
  let server: Awaited<ReturnType<typeof startLocalHttpServer>>;
  const stores = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-contract-')), systemClock);
  let queues = 0;
  before(async () => {
    server = await startLocalHttpServer(
      0,
      getRequestListener(
        createHttpApp({ blobs: stores.blobs }, { debug() {}, info() {}, warn() {}, error() {} }).fetch,
      ),
    );
    stores.blobs.setBaseUrl(server.url);
  });
  after(async () => {
    await server.close();
  });
  queueContract(
    'SQLite',
    async () => {
      // Each test gets a queue of its own in the same database.
      const { ingest } = openLocalStores(
        mkdtempSync(join(tmpdir(), `idlehook-queue-${++queues}-`)),
        systemClock,
      );
      return ingest;
    },
    true,
  );
  blobContract('SQLite', async () => stores.blobs);
});

describe('AWS shape on fauxqs (SQS and S3 APIs)', () => {
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let overflow: S3BlobStore;
  let links: Awaited<ReturnType<typeof startLinkEndpoint>>;
  let queues = 0;
  before(async () => {
    aws = await startSqsAndS3();
    const bucket = await aws.createBucket('idlehook-blobs');
    const presigner = new S3BlobStore(aws.s3, bucket);
    const key = Buffer.alloc(32, 1);
    links = await startLinkEndpoint(() =>
      createBlobLinkHandler({
        key: async () => key,
        presign: (k) => presigner.presign(k),
        clock: systemClock,
      }),
    );
    overflow = new S3BlobStore(aws.s3, bucket, {
      link: async (k) => signBlobLink(links.url, k, Date.now(), key),
    });
  });
  after(async () => {
    await links?.close();
    await aws.stop();
  });
  queueContract(
    'SQS FIFO',
    async () =>
      new SqsQueue<IngestRecord>(
        aws.sqs,
        await aws.createQueue(`ingest-${++queues}.fifo`, {
          FifoQueue: 'true',
          MaximumMessageSize: '1048576',
        }),
        // One group per message here: within one group FIFO holds later messages back while one is in flight.
        { fifo: true, groupOf: (body) => idOf(body) ?? 'none', overflow },
      ),
    true,
  );
  queueContract(
    'SQS standard',
    async () =>
      new SqsQueue<IngestRecord>(aws.sqs, await aws.createQueue(`delivery-${++queues}`), { overflow }),
    false,
  );
  // The URL is a link to the link endpoint, which redirects to a presigned URL (fauxqs does not check those).
  blobContract('S3', async () => overflow);
});
