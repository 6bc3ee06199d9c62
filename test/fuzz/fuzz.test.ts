// The fuzz run: generated malformed and adversarial messages through the parse stage's record handler.
// CI runs 2,000 (plus the seed corpus and one 25 MB message); `npm run fuzz -- 20000 7` runs 20,000 with seed 7.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { messageEventId } from '../../src/domain/events.js';
import { handleIngestRecord } from '../../src/pipeline/handle-ingest.js';
import { attachmentBlobKey, type MessageArrival, rawBlobKey } from '../../src/pipeline/records.js';
import { generateMessage, largeMessage } from './generate.js';

const total = Number(process.env.IDLEHOOK_FUZZ_MESSAGES ?? 2000);
const seed = Number(process.env.IDLEHOOK_FUZZ_SEED ?? 1);
const corpusDir = join(import.meta.dirname, 'corpus');

describe(`fuzz: ${total} generated messages (seed ${seed}), the seed corpus and a 25 MB message`, () => {
  it('never crashes, never stalls, stays within memory, and yields one event per message', async (t) => {
    const directory = mkdtempSync(join(tmpdir(), 'idlehook-fuzz-'));
    const stores = openLocalStores(directory, systemClock);
    t.after(() => {
      stores.close();
      rmSync(directory, { recursive: true, force: true });
    });
    stores.blobs.setBaseUrl('http://127.0.0.1:1');
    const subscriptions = [
      {
        id: 'hook',
        url: 'http://127.0.0.1:1/',
        secrets: [Buffer.alloc(32)],
        events: undefined,
        rateLimitPerSecond: undefined,
        accounts: undefined,
      },
    ];
    const corpus = readdirSync(corpusDir).map((name) => ({
      kind: `corpus ${name}`,
      source: readFileSync(join(corpusDir, name)),
    }));
    const inputs = function* () {
      yield* corpus;
      yield { kind: '25 MB', source: largeMessage() };
      for (let i = 0; i < total; i++) yield generateMessage(seed, i);
    };

    const prototypeMembers = Object.getOwnPropertyNames(Object.prototype).sort();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const kinds = new Map<string, number>();
    let uid = 0;
    let events = 0;
    let parseErrors = 0;
    for (const { kind, source } of inputs()) {
      uid += 1;
      const coordinates = { account: 'fuzz', mailbox: 'INBOX', uidValidity: String(seed), uid };
      const eventId = messageEventId('message.received', coordinates);
      const arrival: MessageArrival = {
        kind: 'message',
        eventId,
        ...coordinates,
        modseq: null,
        flags: [],
        internalDate: null,
        size: source.length,
        rawKey: rawBlobKey(eventId),
        detectedAt: new Date().toISOString(),
      };
      await stores.blobs.put(arrival.rawKey, source);
      try {
        await handleIngestRecord(arrival, {
          blobs: stores.blobs,
          deliveries: stores.deliveries,
          subscriptions,
        });
      } catch (error) {
        assert.fail(
          `message ${uid} (${kind}, seed ${seed}) crashed the parse stage: ${(error as Error).stack}`,
        );
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      peak = Math.max(peak, process.memoryUsage().rss);

      for (const { body } of await stores.deliveries.receive(500)) {
        const event = JSON.parse(body.body) as { data: Record<string, any> };
        events += 1;
        assert.equal(body.eventId, eventId, 'the event belongs to the message just parsed');
        assert.equal(event.data.raw.size, source.length, 'the raw source is kept whole');
        if (event.data.parseError !== null) parseErrors += 1;
        for (const [index, attachment] of (event.data.attachments as { url: string }[]).entries()) {
          // Names are data: the blob key comes from the event id and a counter, never from the message.
          assert.match(new URL(attachment.url).pathname, /^\/blobs\/attachments\/evt_[0-9a-f]{32}\/\d+$/);
          const key = attachmentBlobKey(eventId, index);
          assert.ok(
            new URL(attachment.url).pathname.endsWith(`/${key}`),
            'the URL names the stored attachment',
          );
          await stores.blobs.delete(key);
        }
      }
      // The run passes about 2 GB of sources and attachments through the store: freeing each message's blobs
      // keeps the store's file (and the disk the test needs) at the size of the largest message.
      await stores.blobs.delete(arrival.rawKey);
    }
    assert.equal(events, uid, 'one event for every message');
    assert.deepEqual(
      Object.getOwnPropertyNames(Object.prototype).sort(),
      prototypeMembers,
      'no prototype pollution',
    );
    const grewMiB = (peak - baseline) / 1048576;
    t.diagnostic(
      `${uid} messages, ${events} events, ${parseErrors} with parseError, peak RSS +${grewMiB.toFixed(0)} MiB`,
    );
    t.diagnostic(`by kind: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    assert.ok(grewMiB < 1024, `memory stays bounded (grew ${grewMiB.toFixed(0)} MiB)`);
  });
});
