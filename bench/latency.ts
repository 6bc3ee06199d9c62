// APPEND -> verified webhook latency, next to the floor measured in the same run: the same server's own
// APPEND -> IDLE EXISTS latency, seen by a plain IDLE client watching the same mailbox.
// Then mail that keeps coming: messages appended every --stream-gap-ms (300) whatever the webhooks do.
// --server picks the IMAP server family (Courier with IMAP_ENHANCEDIDLE=1, so that its plain IDLE client is a
// real-time floor too).
// Usage: npm run bench:latency [-- --messages 100 --stream 60 --stream-gap-ms 300 --server dovecot|cyrus|courier]
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { BridgeProcess } from '../test/support/bridge.js';
import { startCourier } from '../test/support/courier.js';
import { startCyrus } from '../test/support/cyrus.js';
import { startDovecotServer, type TestImapServer } from '../test/support/imap-server.js';
import { simpleMessage } from '../test/support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../test/support/receiver.js';
import { PASSWORD, USER, waitForIdle } from '../test/support/scenario.js';
import { ms, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100' },
    stream: { type: 'string', default: '60' },
    'stream-gap-ms': { type: 'string', default: '300' },
    server: { type: 'string', default: 'dovecot' },
  },
});
const total = Number(values.messages);
const servers = new Map<string, () => Promise<TestImapServer>>([
  ['dovecot', () => startDovecotServer([{ name: USER, password: PASSWORD }])],
  ['cyrus', () => startCyrus([{ name: USER, password: PASSWORD }])],
  ['courier', () => startCourier([{ name: USER, password: PASSWORD }], { enhancedIdle: true })],
]);
const startServer = servers.get(values.server);
if (!startServer) throw new Error(`--server must be one of ${[...servers.keys()].join(', ')}`);
const server = await startServer();
const plainClient = async (options: { autoIdleDelay?: number } = {}) => {
  const client = new ImapFlow({
    host: server.host,
    port: server.plainPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER, pass: PASSWORD },
    logger: false,
    ...options,
  });
  await client.connect();
  return client;
};
const receiver = new WebhookReceiver(newWebhookSecret());
const bridge = await BridgeProcess.create(
  {
    // Production defaults for everything that matters to latency; only the data dir and ports are the test's.
    delivery: { retryScheduleSeconds: [5, 300] },
    imap: { checkIntervalSeconds: 60 },
    accounts: [
      {
        id: 'support',
        host: 'localhost',
        port: server.tlsPort,
        tls: { ca: server.caFile },
        user: USER,
        password: { env: 'TEST_IMAP_PASSWORD' },
      },
    ],
    subscriptions: [{ id: 'helpdesk', url: await receiver.listen(), secret: { env: 'TEST_WEBHOOK_SECRET' } }],
  },
  { TEST_IMAP_PASSWORD: PASSWORD, TEST_WEBHOOK_SECRET: receiver.secret },
);
const appender = await plainClient();
await bridge.start();
await waitForIdle(bridge);

const floorClient = await plainClient({ autoIdleDelay: 0 });
await floorClient.mailboxOpen('INBOX', { readOnly: true });
let existsAt = 0;
/** When the floor client saw each EXISTS count (Dovecot may announce two messages in one EXISTS). */
const existsAtCount = new Map<number, number>();
floorClient.on('exists', (update: { count: number }) => {
  existsAt = performance.now();
  existsAtCount.set(update.count, existsAt);
});
await new Promise((r) => setTimeout(r, 500));

type Pattern = 'after-quiet' | 'back-to-back' | 'stream';
const samples: { pattern: Pattern; floor: number; endToEnd: number }[] = [];
for (let i = 0; i < total; i++) {
  // Alternate: a message after 1.5 s of quiet (both watchers deep in IDLE), then one sent 20 ms after the
  // previous webhook arrived (the case where a client that re-enters IDLE late, misses its moment).
  const pattern: Pattern = i % 2 === 0 ? 'after-quiet' : 'back-to-back';
  await new Promise((r) => setTimeout(r, pattern === 'after-quiet' ? 1500 : 20));
  const before = receiver.accepted.length;
  existsAt = 0;
  const appendedAt = performance.now();
  await appender.append('INBOX', simpleMessage(`latency-${i}`));
  await receiver.waitUntil(() => receiver.accepted.length > before && existsAt > 0, 30_000, `message ${i}`);
  const webhook = receiver.accepted[before];
  if (!webhook) throw new Error('no webhook');
  samples.push({ pattern, floor: existsAt - appendedAt, endToEnd: webhook.receivedAt - appendedAt });
}

const report = (label: string, rows: typeof samples) => {
  const floor = summary(rows.map((r) => r.floor));
  const endToEnd = summary(rows.map((r) => r.endToEnd));
  const overhead = summary(rows.map((r) => r.endToEnd - r.floor));
  console.log(`\n${label} (n=${rows.length})`);
  console.log(
    `  server floor   APPEND -> IDLE EXISTS   p50 ${ms(floor.p50)}  p90 ${ms(floor.p90)}  p95 ${ms(floor.p95)}  p99 ${ms(floor.p99)}`,
  );
  console.log(
    `  idlehook       APPEND -> webhook       p50 ${ms(endToEnd.p50)}  p90 ${ms(endToEnd.p90)}  p95 ${ms(endToEnd.p95)}  p99 ${ms(endToEnd.p99)}`,
  );
  console.log(
    `  overhead above the floor               p50 ${ms(overhead.p50)}  p90 ${ms(overhead.p90)}  p95 ${ms(overhead.p95)}  p99 ${ms(overhead.p99)}`,
  );
  console.log(`  ratio idlehook / floor (p50)           ${(endToEnd.p50 / floor.p50).toFixed(3)}`);
};
console.log(`\nidlehook latency benchmark, ${total} single messages, ${server.label}, TLS`);
report('all messages', samples);
report(
  'after 1.5 s quiet',
  samples.filter((s) => s.pattern === 'after-quiet'),
);
report(
  '20 ms after the previous webhook',
  samples.filter((s) => s.pattern === 'back-to-back'),
);

/** When the plain IDLE client first saw a count that includes message number `count`. */
function firstExistsCovering(count: number): number {
  const times = [...existsAtCount].filter(([seen]) => seen >= count).map(([, at]) => at);
  return times.length > 0 ? Math.min(...times) : Number.NaN;
}

// Mail that keeps coming: one message every gap, not waiting for webhooks. Each message's floor is when the
// plain IDLE client saw the EXISTS count it made.
const streamed = Number(values.stream);
const gapMs = Number(values['stream-gap-ms']);
if (streamed > 0) {
  await new Promise((r) => setTimeout(r, 1500));
  const countBefore = floorClient.mailbox ? floorClient.mailbox.exists : 0;
  const acceptedBefore = receiver.accepted.length;
  const appendedAt: number[] = [];
  for (let i = 0; i < streamed; i++) {
    const due = performance.now() + gapMs;
    appendedAt.push(performance.now());
    await appender.append('INBOX', simpleMessage(`stream-${i}`));
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await receiver.waitUntil(() => receiver.accepted.length >= acceptedBefore + streamed, 60_000, 'the stream');
  const arrivals = new Map(receiver.accepted.map((w) => [String(w.body.data.subject), w.receivedAt]));
  const rows = appendedAt.map((at, i) => ({
    pattern: 'stream' as const,
    floor: firstExistsCovering(countBefore + i + 1) - at,
    endToEnd: (arrivals.get(`stream-${i}`) ?? Number.NaN) - at,
  }));
  report(`mail ${gapMs} ms apart, ${streamed} messages, not waiting for webhooks`, rows);
}
console.log(
  `\ninvalid signatures: ${receiver.invalidSignatures}; bridge peak RSS ${bridge.peakRssMiB().toFixed(0)} MiB`,
);

await floorClient.logout();
await appender.logout();
await bridge.dispose();
await receiver.close();
await server.stop();
