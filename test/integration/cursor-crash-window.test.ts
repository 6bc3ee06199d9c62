// A restart may come between any two writes. Every cursor a sync writes must be one a new session (after a crash,
// or on the task that takes the mailbox over) can start from without misreading anything: new mail announced
// under a cursor is not a flag change of it. Runs MailboxSync on Dovecot (CONDSTORE and QRESYNC) with SQLite.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { type LocalStores, openLocalStores } from '../../src/adapters/local/local-stores.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { AccountConfig } from '../../src/config/config.js';
import { ByteBudget } from '../../src/domain/byte-budget.js';
import type { MailboxCursor } from '../../src/domain/sync.js';
import { MailboxSync } from '../../src/imap/mailbox-sync.js';
import { StatusBoard } from '../../src/imap/status-board.js';
import type { Logger } from '../../src/ports/services.js';
import type { CursorStore } from '../../src/ports/watcher.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';

const account = { id: 'support', initialSync: 'new' } as AccountConfig;
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('every cursor a sync writes is a safe place to restart from', () => {
  let dovecot: DovecotServer;
  let stores: LocalStores;
  const clients: ImapFlow[] = [];

  /** A session's connection, as the watcher opens it (QRESYNC enabled). */
  const connect = async () => {
    const client = new ImapFlow({
      host: dovecot.host,
      port: dovecot.plainPort,
      secure: false,
      doSTARTTLS: false,
      auth: { user: 'support', pass: 'pw' },
      logger: false,
      qresync: true,
    });
    await client.connect();
    clients.push(client);
    await client.mailboxOpen('INBOX', { readOnly: true });
    return client;
  };
  /** One sync of INBOX by a new session (as after a restart), with the cursor store given. */
  const syncOnce = async (cursors: CursorStore) => {
    const sync = new MailboxSync(
      await connect(),
      account,
      'INBOX',
      new StatusBoard().mailbox('support', 'INBOX'),
      {
        cursors,
        ingest: stores.ingest,
        blobs: stores.blobs,
        clock: systemClock,
        logger: silent,
        sourceBudget: new ByteBudget(1024 * 1024),
      },
    );
    let failure: unknown;
    sync.onFailure((error) => {
      failure = error;
    });
    sync.request();
    await sync.settled();
    assert.equal(failure, undefined);
  };
  const drainTypes = async () => {
    const types: string[] = [];
    for (
      let batch = await stores.ingest.receive(100);
      batch.length > 0;
      batch = await stores.ingest.receive(100)
    )
      for (const message of batch) {
        const body = message.body as { kind: string; event?: { type: string } };
        types.push(body.kind === 'message' ? 'message.received' : String(body.event?.type));
        await stores.ingest.acknowledge(message.id);
      }
    return types;
  };

  before(async () => {
    dovecot = await startDovecot([{ name: 'support', password: 'pw' }]);
    stores = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-cursor-window-')), systemClock);
    stores.blobs.setBaseUrl('http://127.0.0.1:1');
  });
  after(async () => {
    for (const client of clients) await client.logout().catch(() => undefined);
    stores?.close();
    await dovecot?.stop();
  });

  it('a restart after any cursor write announces no flag change for mail that only arrived', async () => {
    const appender = await connectAppender(dovecot, 'support', 'pw');
    clients.push(appender);
    await appender.append('INBOX', simpleMessage('before the baseline'));
    await syncOnce(stores.state);
    await drainTypes();

    // New mail arrives; the sync announces it. Every cursor it writes is kept, as a crash right after it would.
    await appender.append('INBOX', simpleMessage('new one'));
    await appender.append('INBOX', simpleMessage('new two'));
    const written: MailboxCursor[] = [];
    const state = stores.state;
    const recording: CursorStore = {
      getCursor: (...args) => state.getCursor(...args),
      resetCursor: (accountId, mailbox, cursor) => state.resetCursor(accountId, mailbox, cursor),
      advanceCursor: async (accountId, mailbox, cursor) => {
        written.push(cursor);
        await state.advanceCursor(accountId, mailbox, cursor);
      },
      getUidGaps: (...args) => state.getUidGaps(...args),
      setUidGaps: (...args) => state.setUidGaps(...args),
      getFolderTree: (...args) => state.getFolderTree(...args),
      setFolderTree: (...args) => state.setFolderTree(...args),
    };
    await syncOnce(recording);
    assert.deepEqual(await drainTypes(), ['message.received', 'message.received']);
    assert.ok(written.length > 0);

    // Restart from each of those cursors in turn: only the re-announcements a restart may make, never a change.
    for (const cursor of written) {
      await stores.state.resetCursor('support', 'INBOX', cursor);
      await syncOnce(stores.state);
      const types = await drainTypes();
      assert.deepEqual(
        types.filter((type) => type !== 'message.received'),
        [],
        `restarting from ${JSON.stringify(cursor)} announced ${types.join(', ')}`,
      );
    }
  });
});
