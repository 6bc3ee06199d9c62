import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { imapClientOptions } from '../../src/imap/client-options.js';
import { accountConfig } from '../support/accounts.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';

describe('COMPRESS=DEFLATE offered by the server', () => {
  let dovecot: DovecotServer;
  before(async () => {
    dovecot = await startDovecot([{ name: 'support', password: 'pw' }], { compress: true });
  });
  after(async () => {
    await dovecot?.stop();
  });

  /** Connects with the watcher's options (`compression` overriding them) and returns the commands sent. */
  async function commandsSent(compression?: boolean): Promise<{ sent: string[]; offered: boolean }> {
    const sent: string[] = [];
    const capture = (entry: { src?: string; msg?: string }) => {
      if (entry.src === 'c' && entry.msg) sent.push(entry.msg);
    };
    const account = accountConfig({
      host: 'localhost',
      port: dovecot.tlsPort,
      tls: { ca: readFileSync(dovecot.caFile, 'utf8'), servername: undefined },
      user: 'support',
    });
    const client = new ImapFlow({
      ...imapClientOptions(account, { pass: 'pw' }),
      ...(compression === undefined ? {} : { disableCompression: !compression }),
      logger: { debug: capture, info: capture, warn: capture, error: capture },
    });
    await client.connect();
    const offered = client.capabilities.has('COMPRESS=DEFLATE');
    await client.logout();
    return { sent, offered };
  }

  it('is not turned on: its zlib state would triple the memory of every idle connection', async () => {
    const { sent, offered } = await commandsSent();
    assert.ok(offered, 'the server offers COMPRESS=DEFLATE');
    assert.ok(sent.length > 0, 'the commands sent are seen');
    assert.ok(!sent.some((line) => /COMPRESS/i.test(line)), sent.join('\n'));
  });

  it('would be turned on by imapflow otherwise (the check above can fail)', async () => {
    const { sent } = await commandsSent(true);
    assert.ok(
      sent.some((line) => /COMPRESS DEFLATE/i.test(line)),
      sent.join('\n'),
    );
  });
});
