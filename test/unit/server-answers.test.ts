import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RECONNECT_POLICY } from '../../src/config/config.js';
import { reconnectDelayMs } from '../../src/domain/retry.js';
import { planSync, UnusableMailboxStateError } from '../../src/domain/sync.js';
import {
  ConnectionClosedError,
  classifyImapError,
  isConnectionFault,
} from '../../src/imap/connection-failure.js';
import { idleRestartMsFor, pollsWhenIdleStarts } from '../../src/imap/server-quirks.js';

/** How the watcher reads what servers answer, including what the RFCs allow them to leave out. */

const target = { host: 'imap.example.com', port: 993, user: 'support@example.com' };
const imapError = (fields: Record<string, unknown>) => Object.assign(new Error('Command failed'), fields);

describe('sync plans on what servers leave out', () => {
  it('refuses a snapshot without a usable UIDNEXT instead of writing NaN into the cursor', () => {
    for (const uidNext of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY])
      assert.throws(
        () => planSync(undefined, { uidValidity: '7', uidNext, highestModseq: null }, 'new'),
        UnusableMailboxStateError,
      );
  });

  it('re-baselines quietly when a cursor that never passed a message sees a new UIDVALIDITY (Courier, empty folders)', () => {
    const stored = { uidValidity: '796557952', lastUid: 0, highestModseq: null };
    const snapshot = { uidValidity: '796557999', uidNext: 1, highestModseq: null };
    assert.deepEqual(planSync(stored, snapshot, 'all'), {
      kind: 'baseline',
      cursor: { uidValidity: '796557999', lastUid: 0, highestModseq: null },
    });
    assert.equal(planSync({ ...stored, lastUid: 1 }, snapshot, 'all').kind, 'reset');
  });
});

describe('failure kinds and their waits', () => {
  it('waits at least half a minute after a sync failure, doubling to the policy maximum', () => {
    const waits = [1, 2, 3, 4, 5].map((n) =>
      reconnectDelayMs('sync', n, DEFAULT_RECONNECT_POLICY, () => 0.5),
    );
    assert.deepEqual(waits, [30_000, 60_000, 120_000, 240_000, 300_000]);
    const fast = { ...DEFAULT_RECONNECT_POLICY, minDelaySeconds: 0.2, maxDelaySeconds: 1 };
    assert.equal(
      reconnectDelayMs('sync', 1, fast, () => 0.5),
      30_000,
      'a test policy cannot make it a storm',
    );
  });

  it('tells a broken connection from an answer the session cannot use', () => {
    assert.ok(isConnectionFault(new ConnectionClosedError()));
    for (const code of ['ECONNRESET', 'EPIPE', 'NoConnection', 'ETIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID'])
      assert.ok(isConnectionFault(imapError({ code })), code);
    for (const error of [
      imapError({ code: 'ETHROTTLE' }),
      imapError({ responseStatus: 'NO', responseText: 'Internal error' }),
      new TypeError("Cannot read properties of undefined (reading 'toString')"),
      new UnusableMailboxStateError('no UIDNEXT'),
    ])
      assert.equal(isConnectionFault(error), false, String(error));
    assert.equal(classifyImapError(new UnusableMailboxStateError('x'), target).kind, 'sync');
    assert.equal(classifyImapError(new TypeError('bug'), target).kind, 'sync');
    assert.equal(classifyImapError(imapError({ code: 'ECONNRESET' }), target).kind, 'network');
  });

  it('reads a mailbox that went away from the answers servers give (RFC 5530 NONEXISTENT, Cyrus words)', () => {
    for (const fields of [
      { mailboxMissing: true },
      { responseStatus: 'NO', serverResponseCode: 'NONEXISTENT', responseText: 'Mailbox gone' },
      { responseStatus: 'NO', responseText: 'Mailbox does not exist' },
      // imapflow's STATUS, after a LIST found nothing (the periodic check of a folder deleted meanwhile)
      { code: 'NotFound', message: "Mailbox doesn't exist: INBOX.Projects" },
    ])
      assert.equal(classifyImapError(imapError(fields), target).code, 'MAILBOX_NOT_FOUND');
  });

  it('reads Microsoft 365 answers: "authenticated but not connected" and throttling with its suggested wait', () => {
    const notConnected = classifyImapError(
      imapError({ authenticationFailed: true, response: 'User is authenticated but not connected.' }),
      target,
    );
    assert.deepEqual(
      [notConnected.kind, notConnected.code],
      ['authentication', 'AUTHENTICATED_NOT_CONNECTED'],
    );
    const throttled = classifyImapError(
      imapError({
        code: 'ETHROTTLE',
        responseStatus: 'BAD',
        responseText: 'Request is throttled. Suggested Backoff Time: 299961 milliseconds',
      }),
      target,
    );
    assert.deepEqual([throttled.kind, throttled.code, throttled.retryAfterMs], ['sync', 'THROTTLED', 299961]);
  });

  it("reads Gmail's connection limit at login as that, not as a wrong password", () => {
    const refused = classifyImapError(
      imapError({
        authenticationFailed: true,
        serverResponseCode: 'ALERT',
        responseText: 'Too many simultaneous connections. (Failure)',
      }),
      target,
    );
    assert.equal(refused.kind, 'authentication');
    assert.match(refused.message, /connectionLimit/);
    assert.doesNotMatch(refused.message, /wrong user name/);
  });
});

describe('server families', () => {
  it('restarts IDLE every 10 s on Courier (stock IMAP_ENHANCEDIDLE=0 looks for mail every 60 s), not elsewhere', () => {
    assert.equal(
      idleRestartMsFor(
        'Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.  See COPYING for distribution information.',
      ),
      10_000,
    );
    for (const greeting of [
      'Dovecot (Debian) ready.',
      'imap.example.com Cyrus IMAP 3.6.1 server ready',
      undefined,
    ])
      assert.equal(idleRestartMsFor(greeting), undefined);
  });

  it('counts on IDLE to poll as it starts only on Dovecot and Cyrus, whose sources say it does', () => {
    for (const greeting of ['Dovecot (Debian) ready.', 'imap.example.com Cyrus IMAP 3.6.1 server ready'])
      assert.equal(pollsWhenIdleStarts(greeting), true, greeting);
    for (const greeting of [
      'Gimap ready for requests from 192.0.2.1 a1mb2345678',
      'The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADAA]',
      'Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.  See COPYING for distribution information.',
      'IMAP4rev1 server ready',
      undefined,
    ])
      assert.equal(pollsWhenIdleStarts(greeting), false, greeting);
  });
});
