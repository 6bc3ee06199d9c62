import type { ImapFlow } from 'imapflow';
import { BridgeProcess } from './bridge.js';
import { type DovecotServer, startDovecot } from './dovecot.js';
import { connectAppender } from './mail.js';
import { newWebhookSecret, WebhookReceiver } from './receiver.js';

export const USER = 'support';
export const PASSWORD = 'correct horse';

/** Dovecot + verifying receiver + the bridge CLI, wired for one account: what most end-to-end tests need. */
export interface Scenario {
  readonly dovecot: DovecotServer;
  readonly receiver: WebhookReceiver;
  readonly bridge: BridgeProcess;
  readonly appender: ImapFlow;
  dispose(): Promise<void>;
}

export async function startScenario(
  options: {
    mailboxes?: string[];
    account?: Record<string, unknown>;
    config?: Record<string, unknown>;
    extraAccounts?: Record<string, unknown>[];
    /** More subscriptions signed with the same secret (`secret`) as the scenario's receiver. */
    extraSubscriptions?: Record<string, unknown>[];
    secret?: string;
    /** Routes the bridge's IMAP connections through a relay (FlakyNetwork, CutCable) listening where returned. */
    via?: (dovecot: DovecotServer) => Promise<{ readonly host: string; readonly port: number }>;
    /** IMAP extensions the server should not offer (e.g. IDLE, QRESYNC). */
    withoutCapabilities?: string[];
  } = {},
): Promise<Scenario> {
  const dovecot = await startDovecot(
    [
      { name: USER, password: PASSWORD },
      { name: 'other', password: 'other-password' },
    ],
    { withoutCapabilities: options.withoutCapabilities ?? [] },
  );
  const receiver = new WebhookReceiver(options.secret ?? newWebhookSecret());
  const url = await receiver.listen();
  const appender = await connectAppender(dovecot, USER, PASSWORD);
  for (const mailbox of options.mailboxes ?? []) {
    if (mailbox !== 'INBOX') await appender.mailboxCreate(mailbox);
  }
  const relay = options.via ? await options.via(dovecot) : undefined;
  const bridge = await BridgeProcess.create(
    {
      delivery: { retryScheduleSeconds: [0.2, 0.2, 0.2], overloadFloorSeconds: 0.2 },
      reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
      imap: { checkIntervalSeconds: 1 },
      ...options.config,
      accounts: [
        {
          id: 'support',
          ...(relay
            ? { host: relay.host, port: relay.port, tls: { ca: dovecot.caFile, servername: 'localhost' } }
            : { host: 'localhost', port: dovecot.tlsPort, tls: { ca: dovecot.caFile } }),
          user: USER,
          password: { env: 'TEST_IMAP_PASSWORD' },
          mailboxes: options.mailboxes ?? ['INBOX'],
          ...options.account,
        },
        ...(options.extraAccounts ?? []).map((a) => ({
          host: 'localhost',
          port: dovecot.tlsPort,
          tls: { ca: dovecot.caFile },
          ...a,
        })),
      ],
      subscriptions: [
        { id: 'helpdesk', url, secret: { env: 'TEST_WEBHOOK_SECRET' } },
        ...(options.extraSubscriptions ?? []).map((s) => ({ secret: { env: 'TEST_WEBHOOK_SECRET' }, ...s })),
      ],
    },
    { TEST_IMAP_PASSWORD: PASSWORD, TEST_WEBHOOK_SECRET: receiver.secret },
  );
  return {
    dovecot,
    receiver,
    bridge,
    appender,
    dispose: async () => {
      await appender.logout().catch(() => undefined);
      await bridge.dispose();
      await receiver.close();
      await dovecot.stop();
    },
  };
}

/**
 * Waits until every watched mailbox (of `accounts`, or of all accounts) reports `idle` on /status: the bridge
 * is caught up and in IDLE.
 */
export async function waitForIdle(
  bridge: BridgeProcess,
  accounts?: readonly string[],
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status: Awaited<ReturnType<BridgeProcess['status']>> | undefined;
  while (Date.now() < deadline) {
    status = await bridge.status();
    const watched = Object.entries(status.accounts)
      .filter(([id]) => !accounts || accounts.includes(id))
      .map(([, account]) => Object.values(account.mailboxes));
    const expected = accounts?.length ?? 1;
    if (
      watched.length >= expected &&
      watched.every((m) => m.length > 0 && m.every((s) => s.state === 'idle'))
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bridge never became idle: ${JSON.stringify(status?.accounts)}\n${bridge.log()}`);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
