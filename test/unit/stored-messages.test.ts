import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageEventId } from '../../src/domain/events.js';
import { storeRawMessage } from '../../src/pipeline/arrival-notes.js';
import type { MessageArrival } from '../../src/pipeline/records.js';
import { rawBlobKey } from '../../src/pipeline/records.js';
import { readStoredMessage } from '../../src/pipeline/stored-messages.js';
import { memoryBlobs } from '../support/memory-blobs.js';

const coordinates = { account: 'support', mailbox: 'INBOX', uidValidity: '7', uid: 42 };
const eventId = messageEventId('message.received', coordinates);
const source = Buffer.from(
  'From: a@example.com\r\nSubject: Again\r\nMessage-ID: <again@example.com>\r\n\r\nbody\r\n',
);
const arrival = (flags: string[]): MessageArrival => ({
  kind: 'message',
  eventId,
  rawKey: rawBlobKey(eventId),
  ...coordinates,
  modseq: '99',
  flags,
  internalDate: '2026-12-01T10:00:00.000Z',
  size: source.length,
  detectedAt: '2026-12-01T10:00:01.000Z',
  providerThreadId: '1234',
});

describe('a message read again from its stored source', () => {
  it('has the arrival details the event carried: flags, MODSEQ, dates, provider thread', async () => {
    const blobs = memoryBlobs();
    await storeRawMessage(blobs, arrival(['\\Seen', '$Ticketed']), source);
    const read = await readStoredMessage(blobs, coordinates);
    assert.ok('event' in read);
    assert.equal(read.event.id, eventId);
    assert.equal(read.event.timestamp, '2026-12-01T10:00:01.000Z');
    assert.deepEqual(read.event.data.flags, ['\\Seen', '$Ticketed']);
    assert.equal(read.event.data.modseq, '99');
    assert.equal(read.event.data.subject, 'Again');
  });

  it('leaves out the flags where they would not fit the note, keeping the rest', async () => {
    const blobs = memoryBlobs();
    const many = Array.from({ length: 200 }, (_, i) => `$keyword-${i}`);
    await storeRawMessage(blobs, arrival(many), source);
    const read = await readStoredMessage(blobs, coordinates);
    assert.ok('event' in read);
    assert.deepEqual(read.event.data.flags, []);
    assert.equal(read.event.data.modseq, '99');
  });

  it('says so for a source stored without a note (before notes were kept), and for none at all', async () => {
    const blobs = memoryBlobs();
    assert.deepEqual(await readStoredMessage(blobs, coordinates), { missing: 'not-stored' });
    await blobs.put(rawBlobKey(eventId), source);
    assert.deepEqual(await readStoredMessage(blobs, coordinates), { missing: 'stored-without-details' });
  });
});
