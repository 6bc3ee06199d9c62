import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import type { SqliteQueue } from '../../src/adapters/local/sqlite-queue.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { apiTokenHash } from '../../src/domain/api-tokens.js';
import type { IngestRecord } from '../../src/pipeline/records.js';

function fakeClock(start = 1_000_000) {
  const clock = { time: start, now: () => clock.time };
  return clock;
}

describe('SqliteQueue', () => {
  let dir: string;
  let clock: ReturnType<typeof fakeClock>;
  let queue: SqliteQueue<IngestRecord>;
  const body = (n: number) => ({ kind: 'event', event: { id: String(n) } }) as unknown as IngestRecord;
  const n = (record: IngestRecord | undefined) => (record?.kind === 'event' ? Number(record.event.id) : -1);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idlehook-queue-'));
    clock = fakeClock();
    queue = openLocalStores(dir, clock).ingest;
  });

  it('delivers in order and drops a duplicate key while the first copy waits', async () => {
    await queue.send([
      { deduplicationKey: 'a', body: body(1) },
      { deduplicationKey: 'b', body: body(2) },
      { deduplicationKey: 'a', body: body(3) },
    ]);
    const received = await queue.receive(10);
    assert.deepEqual(
      received.map((m) => [n(m.body), m.receiveCount]),
      [
        [1, 1],
        [2, 1],
      ],
    );
  });

  it('hides received messages until acknowledged or handed back', async () => {
    await queue.send([{ deduplicationKey: 'a', body: body(1) }]);
    const [message] = await queue.receive(1);
    assert.deepEqual(await queue.receive(1), []);
    await queue.retryLater(message?.id ?? '', 5000);
    assert.deepEqual(await queue.receive(1), []);
    clock.time += 5000;
    const [again] = await queue.receive(1);
    assert.equal(again?.receiveCount, 2);
    await queue.acknowledge(again?.id ?? '');
    assert.equal(queue.depth(), 0);
  });

  it('survives reopening, and a restarted consumer takes over leases of a crashed one', async () => {
    await queue.send([{ deduplicationKey: 'a', body: body(1) }]);
    await queue.receive(1); // leased, never acknowledged: the process "crashed"
    const reopened = openLocalStores(dir, clock).ingest;
    assert.deepEqual(await reopened.receive(1), []);
    reopened.releaseStaleLeases();
    const [message] = await reopened.receive(1);
    assert.equal(n(message?.body), 1);
    assert.equal(message?.receiveCount, 2);
  });
});

describe('retention', () => {
  it('prunes blobs and delivered records past the cutoff, but keeps dead letters', async () => {
    const clock = fakeClock(1_000);
    const { blobs, state } = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-prune-')), clock);
    await blobs.put('raw/old.eml', Buffer.from('old'));
    await state.markDelivered('old', 's', 1);
    await state.deadLetter({
      eventId: 'dead',
      subscriptionId: 's',
      eventType: 't',
      body: '{}',
      reason: 'r',
      attempts: 1,
      failedAt: 1_000,
    });
    clock.time = 5_000;
    await blobs.put('raw/new.eml', Buffer.from('new'));
    await state.markDelivered('new', 's', 1);
    assert.equal(await blobs.pruneOlderThan(2_000), 1);
    assert.equal(await state.pruneDeliveredOlderThan(2_000), 1);
    assert.equal(await blobs.get('raw/old.eml'), undefined);
    assert.ok(await blobs.get('raw/new.eml'));
    assert.equal(await state.isDelivered('old', 's'), false);
    assert.equal(await state.isDelivered('new', 's'), true);
    assert.equal((await state.listDeadLetters()).length, 1);
  });
});

describe('SqliteBlobStore', () => {
  it('round-trips bytes exactly and builds URLs under /blobs/', async () => {
    const { blobs } = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-blobs-')), fakeClock());
    blobs.setBaseUrl('http://127.0.0.1:1/');
    const bytes = Buffer.from([0, 1, 2, 255, 0]);
    await blobs.put('raw/evt_1.eml', bytes);
    assert.ok((await blobs.get('raw/evt_1.eml'))?.equals(bytes));
    const url = new URL(await blobs.url('raw/evt_1.eml'));
    assert.equal(url.origin + url.pathname, 'http://127.0.0.1:1/blobs/raw/evt_1.eml');
    const signature = url.searchParams.get('signature') ?? '';
    assert.ok((await blobs.read('raw/evt_1.eml', signature))?.equals(bytes), 'a URL it made opens the blob');
    assert.equal(await blobs.read('raw/evt_1.eml', ''), undefined, 'no signature, no blob');
    assert.equal(
      await blobs.read('raw/evt_1.eml', `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`),
      undefined,
      'a wrong signature',
    );
    assert.equal(await blobs.read('raw/evt_2.eml', signature), undefined, "another key's signature");
    assert.equal(await blobs.get('raw/missing.eml'), undefined);
  });
});

describe('the local data directory', () => {
  it('is readable by its owner only, whatever the umask; an existing folder keeps its mode, the files do not', async () => {
    const previous = process.umask(0o022);
    try {
      const parent = mkdtempSync(join(tmpdir(), 'idlehook-perms-'));
      const dataDir = join(parent, 'data');
      for (const round of ['new', 'reopened'] as const) {
        if (round === 'reopened') {
          chmodSync(dataDir, 0o755);
          chmodSync(join(dataDir, 'idlehook.db'), 0o644);
        }
        const stores = openLocalStores(dataDir, systemClock);
        await stores.state.setFolderTree('a', []); // a write, so the WAL file exists
        const mode = (path: string) => statSync(path).mode & 0o777;
        // A folder idlehook made is its own; one that existed may be the user's, and is not changed.
        assert.equal(mode(dataDir), round === 'new' ? 0o700 : 0o755, `${round}: dataDir`);
        for (const file of ['idlehook.db', 'idlehook.db-wal', 'idlehook.db-shm'])
          assert.equal(mode(join(dataDir, file)), 0o600, `${round}: ${file}`);
        stores.close();
      }
    } finally {
      process.umask(previous);
    }
  });
});

describe('API tokens in a data directory made before token scopes', () => {
  it('keep working with full access; new ones carry the scope they were made with', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idlehook-tokens-'));
    // The api_tokens table as it was before scopes, with one token in it.
    const old = new Database(join(dataDir, 'idlehook.db'));
    old.exec(`CREATE TABLE api_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
              created_at INTEGER NOT NULL, last_used_at INTEGER) STRICT`);
    old
      .prepare('INSERT INTO api_tokens (id, name, hash, created_at) VALUES (?, ?, ?, ?)')
      .run('tok_old', 'old', apiTokenHash('ihk_old'), 1);
    old.close();

    const stores = openLocalStores(dataDir, systemClock);
    assert.equal(stores.apiTokens.verify('ihk_old'), 'full');
    const { token } = stores.apiTokens.create('viewer', 'read');
    assert.equal(stores.apiTokens.verify(token), 'read');
    assert.equal(stores.apiTokens.verify('ihk_unknown'), undefined);
    assert.deepEqual(
      stores.apiTokens.list().map((t) => [t.name, t.scope]),
      [
        ['old', 'full'],
        ['viewer', 'read'],
      ],
    );
    stores.close();
  });
});
