import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { QueueWorker } from '../../src/adapters/local/queue-worker.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { IngestRecord } from '../../src/pipeline/records.js';
import type { Logger } from '../../src/ports/services.js';

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
});
