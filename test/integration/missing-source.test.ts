import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImapFlow } from 'imapflow';
import { type LocalStores, openLocalStores } from '../../src/adapters/local/local-stores.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { AccountConfig } from '../../src/config/config.js';
import { ByteBudget } from '../../src/domain/byte-budget.js';
import { MailboxSync } from '../../src/imap/mailbox-sync.js';
import { StatusBoard } from '../../src/imap/status-board.js';
import { handleIngestRecord } from '../../src/pipeline/handle-ingest.js';
import type { MessageArrival } from '../../src/pipeline/records.js';
import type { Logger } from '../../src/ports/services.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';

const account = {
  id: 'support',
  initialSync: 'all',
} as AccountConfig;

/**
 * The real client, except that FETCH never carries the source of the UIDs in `withoutSource`: what a server that
 * lost a message body, or one expunged between FETCHes, looks like. Before the first such FETCH answers,
 * `beforeAnswer` runs (to expunge on another connection).
 */
function withoutSources(client: ImapFlow, withoutSource: Set<number>, beforeAnswer: () => Promise<void>) {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'fetch') return Reflect.get(target, property, receiver);
      return (...args: Parameters<ImapFlow['fetch']>) =>
        (async function* () {
          for await (const message of target.fetch(...args)) {
            await beforeAnswer();
            if (withoutSource.has(message.uid)) yield { ...message, source: undefined };
            else yield message;
          }
        })();
    },
  });
}

describe('a UID whose source does not come back', () => {
  let dovecot: DovecotServer;
  let appender: ImapFlow;
  let watcherClient: ImapFlow;
  let stores: LocalStores;
  const logged: { level: string; message: string; uid?: unknown }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => void logged.push({ level: 'warn', message, uid: fields?.uid }),
    error: (message, fields) => void logged.push({ level: 'error', message, uid: fields?.uid }),
  };

  before(async () => {
    dovecot = await startDovecot([{ name: 'support', password: 'pw' }]);
    appender = await connectAppender(dovecot, 'support', 'pw');
    watcherClient = await connectAppender(dovecot, 'support', 'pw');
    stores = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-missing-')), systemClock);
    stores.blobs.setBaseUrl('http://127.0.0.1:1');
  });
  after(async () => {
    await appender?.logout().catch(() => undefined);
    await watcherClient?.logout().catch(() => undefined);
    stores?.close();
    await dovecot?.stop();
  });

  it('skips one that was expunged, announces one still there without its source, and logs both', async () => {
    for (const subject of ['first', 'expunged meanwhile', 'no source', 'last'])
      await appender.append('INBOX', simpleMessage(subject));
    let expunged = false;
    const client = withoutSources(watcherClient, new Set([2, 3]), async () => {
      if (expunged) return;
      expunged = true;
      const lock = await appender.getMailboxLock('INBOX');
      try {
        await appender.messageDelete('2', { uid: true });
      } finally {
        lock.release();
      }
    });
    await watcherClient.mailboxOpen('INBOX', { readOnly: true });
    const status = new StatusBoard().mailbox('support', 'INBOX');
    const sync = new MailboxSync(client, account, 'INBOX', status, {
      cursors: stores.state,
      ingest: stores.ingest,
      blobs: stores.blobs,
      clock: systemClock,
      logger,
      sourceBudget: new ByteBudget(1024 * 1024),
    });
    let failure: unknown;
    sync.onFailure((error) => {
      failure = error;
    });
    sync.request();
    await sync.settled();
    assert.equal(failure, undefined);

    const arrivals = (await stores.ingest.receive(10)).map((m) => m.body as MessageArrival);
    assert.deepEqual(
      arrivals.map((a) => a.uid),
      [1, 3, 4],
    );
    assert.equal((await stores.state.getCursor('support', 'INBOX'))?.lastUid, 4, 'the cursor moves on');
    assert.deepEqual(
      logged.map((l) => [l.level, l.uid]),
      [
        ['warn', 2],
        ['error', 3],
      ],
    );
    const noSource = arrivals.find((a) => a.uid === 3) as MessageArrival;
    assert.equal(noSource.sourceUnavailable, true);
    const subscription = {
      id: 'hook',
      url: 'http://127.0.0.1:1/',
      secrets: [Buffer.alloc(32)],
      events: undefined,
      accounts: undefined,
      rateLimitPerSecond: undefined,
    };
    await handleIngestRecord(noSource, {
      blobs: stores.blobs,
      deliveries: stores.deliveries,
      subscriptions: [subscription],
    });
    const [delivery] = await stores.deliveries.receive(1);
    const event = JSON.parse(delivery?.body.body ?? '{}') as { data: { uid: number; parseError: string } };
    assert.equal(event.data.uid, 3);
    assert.match(event.data.parseError, /returned no source/);
  });
});
