import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LocalDirectory } from '../../adapters/local/local-directory.js';
import { type LocalStores, openLocalStores } from '../../adapters/local/local-stores.js';
import { createLogger } from '../../adapters/powertools-logger.js';
import { systemClock } from '../../adapters/system-clock.js';
import { ConfigError, loadConfig } from '../../config/load-config.js';
import { arrivalRecord, rawBlobKey } from '../../pipeline/records.js';
import { type Command, text } from '../command.js';

/** What `trigger` sends without `--eml`: a small message with a text and an HTML part. */
export function sampleMessage(now: Date): Buffer {
  return Buffer.from(
    'From: idlehook <trigger@idlehook.invalid>\r\nTo: you@example.com\r\nSubject: A test message from idlehook trigger\r\n' +
      `Message-ID: <${randomBytes(8).toString('hex')}@idlehook.invalid>\r\nDate: ${now.toUTCString()}\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n' +
      '--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThis is what a new message looks like as a webhook.\r\n' +
      '--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>This is what a new message looks like as a webhook.</p>\r\n--b--\r\n',
  );
}

/**
 * Queues `source` as mail that arrived in `account`'s INBOX: a raw blob and an arrival record, which is what the
 * watcher writes after an IMAP FETCH. Returns the event id.
 */
export async function queueMessage(
  stores: Pick<LocalStores, 'blobs' | 'ingest'>,
  source: Buffer,
  account: string,
  onlySubscription?: string,
): Promise<string> {
  const now = systemClock.now();
  const eventId = `evt_${randomBytes(16).toString('hex')}`;
  await stores.blobs.put(rawBlobKey(eventId), source);
  await stores.ingest.send([
    arrivalRecord({
      kind: 'message',
      eventId,
      rawKey: rawBlobKey(eventId),
      detectedAt: new Date(now).toISOString(),
      account,
      mailbox: 'INBOX',
      uidValidity: '0',
      uid: Math.floor(now / 1000),
      modseq: null,
      flags: [],
      internalDate: new Date(now).toISOString(),
      size: source.length,
      ...(onlySubscription ? { onlySubscription } : {}),
    }),
  ]);
  return eventId;
}

/**
 * Puts a message into local mode's ingest queue as the watcher would after an IMAP FETCH: the running bridge
 * (or the next one to start) parses, signs and delivers it like any other. Nothing here sends a webhook itself.
 */
export const triggerCommand: Command = {
  name: 'trigger',
  synopsis: 'message.received [--eml FILE] [--subscription ID] [--account ID]',
  summary:
    'send a sample message (or an .eml file) through the bridge: parsed, signed and\n' +
    'delivered like mail that arrived (by the running bridge, or the next start)',
  scope: 'local',
  options: { eml: { type: 'string' }, subscription: { type: 'string' }, account: { type: 'string' } },
  async run({ values, args, out, usageError }) {
    const [type] = args;
    if (type !== 'message.received')
      return usageError('trigger message.received [--eml FILE] [--subscription ID] [--account ID]');
    const configFile = text(values, 'config') ?? '';
    const config = loadConfig(configFile);
    const stores = openLocalStores(config.dataDir, systemClock);
    try {
      const directory = new LocalDirectory(
        config,
        { accounts: stores.managedAccounts, subscriptions: stores.managedSubscriptions },
        createLogger('error'),
      );
      const account = text(values, 'account') ?? directory.listAccounts()[0]?.value.id ?? 'trigger';
      const subscription = text(values, 'subscription');
      const problems = [];
      if (subscription !== undefined && !directory.subscription(subscription))
        problems.push({ path: '--subscription', message: `no subscription "${subscription}"` });
      const eml = text(values, 'eml');
      let source: Buffer | undefined;
      try {
        source = eml === undefined ? sampleMessage(new Date()) : readFileSync(eml);
      } catch (error) {
        problems.push({
          path: '--eml',
          message: `cannot read ${eml}: ${(error as NodeJS.ErrnoException).code}`,
        });
      }
      if (problems.length > 0 || source === undefined) throw new ConfigError('the command line', problems);

      const eventId = await queueMessage(stores, source, account, subscription);
      out(
        `Queued ${eventId} (message.received, account ${account}, ${source.length} bytes)${subscription ? ` for ${subscription} only` : ''}.`,
      );
      return 0;
    } finally {
      stores.close();
    }
  },
};
