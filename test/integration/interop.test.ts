import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import type { DoctorReport } from '../../src/domain/doctor-report.js';
import { BridgeProcess } from '../support/bridge.js';
import { startCourier } from '../support/courier.js';
import { startCyrus } from '../support/cyrus.js';
import { startDovecotServer, type TestImapServer, type TestImapUser } from '../support/imap-server.js';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, type ReceivedWebhook, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';

/**
 * The same behaviour, end to end, on each IMAP server family users connect, as Debian packages them: every
 * message once, flags, expunges, folder create/rename/delete (with mail in them), a UIDVALIDITY change, a
 * server restart, the bridge killed mid-burst, and the doctor on each connection security.
 */

const USER: TestImapUser = { name: 'support', password: 'correct horse' };

interface Variant {
  readonly name: string;
  readonly start: () => Promise<TestImapServer>;
  /** How the bridge connects: each server is met on another of the three, the doctor checks all three. */
  readonly security: 'tls' | 'starttls' | 'none';
  /** CONDSTORE (RFC 7162), which flag-change events need; Courier has none. */
  readonly condstore: boolean;
  /** Whether a renamed folder keeps its UIDVALIDITY, which is how a rename is told from delete + create. */
  readonly renameKeepsUidValidity: boolean;
}

const VARIANTS: readonly Variant[] = [
  {
    name: 'Dovecot 2.3',
    start: () => startDovecotServer([USER]),
    security: 'tls',
    condstore: true,
    renameKeepsUidValidity: true,
  },
  {
    name: 'Cyrus 3.6, default namespace',
    start: () => startCyrus([USER]),
    security: 'starttls',
    condstore: true,
    renameKeepsUidValidity: true,
  },
  {
    name: 'Cyrus 3.6, altnamespace',
    start: () => startCyrus([USER], { altNamespace: true }),
    security: 'tls',
    condstore: true,
    renameKeepsUidValidity: true,
  },
  {
    name: 'Courier 5, stock IDLE',
    start: () => startCourier([USER]),
    security: 'starttls',
    condstore: false,
    renameKeepsUidValidity: false,
  },
  {
    name: 'Courier 5, enhanced IDLE',
    start: () => startCourier([USER], { enhancedIdle: true }),
    security: 'none',
    condstore: false,
    renameKeepsUidValidity: false,
  },
];

/** Another device: a plain-text client of its own (delete and APPEND on separate connections, as Dovecot wants). */
async function device(server: TestImapServer): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: server.host,
    port: server.plainPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER.name, pass: USER.password },
    logger: false,
  });
  await client.connect();
  return client;
}

async function withDevice<T>(server: TestImapServer, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = await device(server);
  try {
    return await work(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

function accountFor(server: TestImapServer, security: Variant['security']): Record<string, unknown> {
  return {
    host: 'localhost',
    port: security === 'tls' ? server.tlsPort : server.plainPort,
    security,
    tls: { ca: server.caFile },
  };
}

/** The CLI bridge for one account on `server`, delivering to `receiver` at `url`. */
function bridgeFor(
  server: TestImapServer,
  receiver: WebhookReceiver,
  url: string,
  options: {
    readonly security?: Variant['security'];
    readonly account?: Record<string, unknown>;
    readonly config?: Record<string, unknown>;
  } = {},
): Promise<BridgeProcess> {
  return BridgeProcess.create(
    {
      ...options.config,
      accounts: [
        {
          id: 'support',
          ...accountFor(server, options.security ?? 'tls'),
          user: USER.name,
          password: { env: 'TEST_IMAP_PASSWORD' },
          ...options.account,
        },
      ],
      subscriptions: [{ id: 'helpdesk', url, secret: { env: 'TEST_WEBHOOK_SECRET' } }],
    },
    { TEST_IMAP_PASSWORD: USER.password, TEST_WEBHOOK_SECRET: receiver.secret },
  );
}

for (const variant of VARIANTS) {
  describe(`interoperability: ${variant.name} over ${variant.security}`, () => {
    let server: TestImapServer;
    let receiver: WebhookReceiver;
    let bridge: BridgeProcess;
    const of = (type: string) => receiver.ofType(type);
    const received = () => of('message.received').map((w) => w.body.data);
    const subjects = () => received().map((m) => m.subject as string);
    const Projects = () => server.folder('Projects');

    before(async () => {
      server = await variant.start();
      receiver = new WebhookReceiver(newWebhookSecret());
      const url = await receiver.listen();
      await withDevice(server, async (client) => {
        await client.mailboxCreate(Projects());
        await client.append('INBOX', simpleMessage('before-start'));
        await client.append(Projects(), simpleMessage('in-projects-before'));
      });
      bridge = await bridgeFor(server, receiver, url, {
        security: variant.security,
        account: { mailboxes: ['*'], initialSync: 'all' },
        config: {
          delivery: { retryScheduleSeconds: [0.2, 0.2, 0.2], overloadFloorSeconds: 0.2 },
          reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
          imap: { checkIntervalSeconds: 1 },
        },
      });
      await bridge.start();
    });
    after(async () => {
      await bridge?.dispose();
      await receiver?.close();
      await server?.stop();
    });

    it('announces the mail already there once, per folder', async () => {
      await receiver.waitUntil(() => received().length >= 2, 20_000, 'the two messages already there');
      await waitForIdle(bridge);
      assert.deepEqual(
        received()
          .map((m) => [m.subject, m.mailbox])
          .sort(),
        [
          ['before-start', 'INBOX'],
          ['in-projects-before', Projects()],
        ],
        server.label,
      );
      assert.equal(of('mailbox.reset').length, 0, 'no reset: nothing changed');
    });

    it('delivers live mail in each watched folder', async () => {
      await withDevice(server, async (client) => {
        await client.append('INBOX', simpleMessage('live-inbox'));
        await client.append(Projects(), simpleMessage('live-projects'));
      });
      await receiver.waitUntil(
        () => subjects().includes('live-inbox') && subjects().includes('live-projects'),
        15_000,
        'live mail',
      );
    });

    it('reports a flag change where the server has CONDSTORE, and an expunge everywhere', async () => {
      const live = received().find((m) => m.subject === 'live-inbox');
      assert.ok(live);
      const offered = await withDevice(server, async (client) => client.capabilities.has('CONDSTORE'));
      assert.equal(offered, variant.condstore, `${server.label} CONDSTORE`);
      await withDevice(server, async (client) => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          await client.messageFlagsAdd(String(live.uid), ['\\Flagged'], { uid: true });
        } finally {
          lock.release();
        }
      });
      if (variant.condstore) {
        await receiver.waitUntil(() => of('message.flags_changed').length === 1, 15_000, 'flags_changed');
        const [changed] = of('message.flags_changed');
        assert.equal(changed?.body.data.uid, live.uid);
        assert.ok(((changed?.body.data.flags ?? []) as string[]).includes('\\Flagged'));
      }
      await withDevice(server, async (client) => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          await client.messageDelete(String(live.uid), { uid: true });
        } finally {
          lock.release();
        }
      });
      await receiver.waitUntil(() => of('message.deleted').length === 1, 15_000, 'message.deleted');
      assert.deepEqual(
        [of('message.deleted')[0]?.body.data.uid, of('message.deleted')[0]?.body.data.mailbox],
        [live.uid, 'INBOX'],
      );
    });

    it('follows a folder created, renamed with mail in it, and deleted with mail in it: no account error', async () => {
      const archive = server.folder('Archive');
      const renamed = server.folder('Filed');
      await withDevice(server, (client) => client.mailboxCreate(archive));
      await receiver.waitUntil(
        () => of('mailbox.created').some((w) => w.body.data.mailbox === archive),
        15_000,
        'mailbox.created',
      );
      await waitForIdle(bridge);
      await withDevice(server, (client) => client.append(archive, simpleMessage('filed-1')));
      await receiver.waitUntil(() => subjects().includes('filed-1'), 15_000, 'mail in the new folder');

      await withDevice(server, (client) => client.mailboxRename(archive, renamed));
      if (variant.renameKeepsUidValidity) {
        await receiver.waitUntil(() => of('mailbox.renamed').length === 1, 15_000, 'mailbox.renamed');
        assert.deepEqual(
          [of('mailbox.renamed')[0]?.body.data.previousMailbox, of('mailbox.renamed')[0]?.body.data.mailbox],
          [archive, renamed],
        );
      } else {
        // Courier gives the renamed folder a new UIDVALIDITY: to any client it is a deletion and a new folder.
        await receiver.waitUntil(
          () =>
            of('mailbox.deleted').some((w) => w.body.data.mailbox === archive) &&
            of('mailbox.created').some((w) => w.body.data.mailbox === renamed),
          15_000,
          'mailbox.deleted and mailbox.created',
        );
        assert.equal(of('mailbox.renamed').length, 0);
      }
      await waitForIdle(bridge);
      await withDevice(server, (client) => client.append(renamed, simpleMessage('filed-2')));
      await receiver.waitUntil(() => subjects().includes('filed-2'), 15_000, 'mail in the renamed folder');
      assert.deepEqual(
        received()
          .filter((m) => m.subject === 'filed-1')
          .map((m) => m.mailbox),
        // With initialSync "all", a new UIDVALIDITY makes its messages new ones (RFC 9051 2.3.1.1).
        variant.renameKeepsUidValidity ? [archive] : [archive, renamed],
        'a rename that keeps UIDVALIDITY is the same messages: filed-1 is not announced again',
      );

      await withDevice(server, (client) => client.mailboxDelete(renamed));
      await receiver.waitUntil(
        () => of('mailbox.deleted').some((w) => w.body.data.mailbox === renamed),
        15_000,
        'mailbox.deleted',
      );
      await new Promise((r) => setTimeout(r, 2500)); // a few check intervals: any false error would come now
      assert.deepEqual(
        of('account.error').map((w) => w.body.data.code),
        [],
        'a folder that went away is not an account error',
      );
    });

    it('announces one mailbox.reset when a folder is deleted and recreated, then delivers its new mail', async () => {
      await withDevice(server, (client) => client.mailboxDelete(Projects()));
      await withDevice(server, async (client) => {
        await client.mailboxCreate(Projects());
        await client.append(Projects(), simpleMessage('recreated-1'));
      });
      await receiver.waitUntil(
        () => of('mailbox.reset').some((w) => w.body.data.mailbox === Projects()),
        20_000,
        'mailbox.reset',
      );
      await waitForIdle(bridge);
      await withDevice(server, (client) => client.append(Projects(), simpleMessage('after-reset')));
      await receiver.waitUntil(() => subjects().includes('after-reset'), 15_000, 'mail after the reset');
      assert.equal(of('mailbox.reset').length, 1, 'exactly one reset');
      assert.deepEqual(of('account.error'), []);
    });

    it('recovers from a server restart without re-announcing anything', async () => {
      const before = received().length;
      await server.halt();
      await server.start();
      await waitForIdle(bridge, undefined, 30_000);
      await withDevice(server, (client) => client.append('INBOX', simpleMessage('after-server-restart')));
      await receiver.waitUntil(
        () => subjects().includes('after-server-restart'),
        20_000,
        'mail after restart',
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(received().length, before + 1, 'only the new message');
    });

    it('loses nothing when the bridge is SIGKILLed mid-burst, and re-sends only with the same webhook-id', async () => {
      const burst = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
      const appending = withDevice(server, async (client) => {
        for (const subject of burst) await client.append('INBOX', simpleMessage(subject));
      });
      await receiver.waitUntil(
        () => subjects().filter((s) => s.startsWith('burst-')).length >= 3,
        20_000,
        'burst',
      );
      await bridge.kill('SIGKILL');
      await appending;
      await bridge.start();
      await receiver.waitUntil(
        () => burst.every((subject) => subjects().includes(subject)),
        30_000,
        'every message of the burst',
      );
      const idsBySubject = new Map<string, Set<string>>();
      for (const webhook of of('message.received') as ReceivedWebhook[]) {
        const { subject, mailbox, uidValidity, uid } = webhook.body.data;
        if (!burst.includes(subject as string)) continue;
        const seen = idsBySubject.get(subject as string) ?? new Set();
        idsBySubject.set(subject as string, seen.add(`${webhook.id} ${mailbox} ${uidValidity} ${uid}`));
      }
      for (const [subject, ids] of idsBySubject)
        assert.equal(ids.size, 1, `${subject}: one webhook-id, got ${[...ids].join('; ')}`);
      assert.deepEqual(receiver.schemaViolations, []);
      assert.deepEqual(of('account.error'), []);
    });

    it('passes the doctor on plain text, STARTTLS and implicit TLS', async () => {
      for (const security of ['none', 'starttls', 'tls'] as const) {
        const doctor = await bridgeFor(server, receiver, 'https://hooks.example.com/', { security });
        try {
          const checked = await doctor.cli('doctor', '--json');
          const [report] = JSON.parse(checked.stdout) as DoctorReport[];
          assert.deepEqual(
            report?.steps.filter((s) => !s.ok).map((s) => `${s.name}: ${s.summary}`),
            [],
            `${server.label} over ${security}`,
          );
          assert.equal(checked.code, 0);
        } finally {
          await doctor.dispose();
        }
      }
    });
  });
}

describe("Courier's stock IDLE (IMAP_ENHANCEDIDLE=0 looks for new mail every 60 s while a client idles)", () => {
  let server: TestImapServer;
  let receiver: WebhookReceiver;
  let bridge: BridgeProcess;
  before(async () => {
    server = await startCourier([USER]);
    receiver = new WebhookReceiver(newWebhookSecret());
    const url = await receiver.listen();
    // The default check interval (60 s): new mail must not wait for it.
    bridge = await bridgeFor(server, receiver, url);
    await bridge.start();
    await waitForIdle(bridge);
  });
  after(async () => {
    await bridge?.dispose();
    await receiver?.close();
    await server?.stop();
  });

  it('keeps an empty INBOX across bridge restarts without a mailbox.reset (Courier gives it a new UIDVALIDITY at every SELECT)', async () => {
    const uidValidities = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const status = await bridge.status();
      uidValidities.add(String(status.accounts.support?.mailboxes.INBOX?.uidValidity));
      assert.equal(await bridge.kill('SIGTERM'), 0);
      await bridge.start();
      await waitForIdle(bridge);
      await new Promise((r) => setTimeout(r, 1100)); // Courier's UIDVALIDITY counts seconds
    }
    assert.ok(uidValidities.size > 1, `the server changed it (${[...uidValidities].join(', ')})`);
    assert.deepEqual(receiver.ofType('mailbox.reset'), [], 'nothing was announced, so nothing to reset');
  });

  it('delivers new mail within seconds, not at the next 60 s check', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // in IDLE
    await withDevice(server, (client) => client.append('INBOX', simpleMessage('courier-idle')));
    await receiver.waitUntil(() => receiver.ofType('message.received').length === 1, 15_000, 'the message');
  });
});

// Dovecot ends a session whose mailbox is deleted (BYE); Cyrus tells it VANISHED and refuses the next FETCH. Either
// way the session finds out long before the next check (the default minute) would list the folders.
for (const variant of VARIANTS.filter(
  (v) => v.name === 'Dovecot 2.3' || v.name === 'Cyrus 3.6, default namespace',
)) {
  describe(`a watched folder deleted or renamed between two checks: ${variant.name}`, () => {
    let server: TestImapServer;
    let receiver: WebhookReceiver;
    let bridge: BridgeProcess;
    const of = (type: string) => receiver.ofType(type).map((w) => w.body.data);
    before(async () => {
      server = await variant.start();
      receiver = new WebhookReceiver(newWebhookSecret());
      const url = await receiver.listen();
      await withDevice(server, async (client) => {
        for (const name of ['Doomed', 'Moving']) {
          await client.mailboxCreate(server.folder(name));
          await client.append(server.folder(name), simpleMessage(`in-${name}`));
          // Cyrus takes UIDVALIDITY from the clock: a second apart, the two are told apart by it.
          await new Promise((r) => setTimeout(r, 1100));
        }
      });
      // The folder listing that would notice comes only with the next check (the default minute).
      bridge = await bridgeFor(server, receiver, url, {
        account: { mailboxes: ['*'] },
        config: { reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1 } },
      });
      await bridge.start();
      await waitForIdle(bridge);
    });
    after(async () => {
      await bridge?.dispose();
      await receiver?.close();
      await server?.stop();
    });

    it('announces the deletion and the rename within seconds, and never an account.error', async () => {
      await withDevice(server, (client) => client.mailboxDelete(server.folder('Doomed')));
      await withDevice(server, (client) =>
        client.mailboxRename(server.folder('Moving'), server.folder('Moved')),
      );
      await receiver
        .waitUntil(
          () => of('mailbox.deleted').length === 1 && of('mailbox.renamed').length === 1,
          20_000,
          'mailbox.deleted and mailbox.renamed',
        )
        .catch((error: unknown) => {
          throw new Error(
            `${String(error)}: ${receiver.accepted.map((w) => w.type).join(', ')}\n${bridge.log()}`,
          );
        });
      const events = JSON.stringify(receiver.accepted.map((w) => [w.type, w.body.data]));
      assert.equal(of('mailbox.deleted')[0]?.mailbox, server.folder('Doomed'), events);
      assert.equal(of('mailbox.renamed')[0]?.mailbox, server.folder('Moved'));
      await withDevice(server, (client) =>
        client.append(server.folder('Moved'), simpleMessage('after-move')),
      );
      await receiver.waitUntil(
        () => of('message.received').some((m) => m.subject === 'after-move'),
        20_000,
        'mail in the renamed folder',
      );
      assert.deepEqual(of('account.error'), []);
    });
  });
}
