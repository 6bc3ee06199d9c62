// The CPU the given library needs to hold N mailboxes in IDLE and check each once a check interval, with none of
// idlehook's own work: N bare imapflow clients (TLS, the watcher's connection options), each with its INBOX
// selected and in IDLE, each asking a NOOP once a check interval (DONE, NOOP, IDLE: the least round trip that
// tells a live connection from a silently dead one). That is the least CPU a watcher built on imapflow can spend
// on idle mailboxes while keeping the check interval's promise. Run by bench/density.ts in a child process of its
// own; prints one JSON line.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { imapClientOptions } from '../src/imap/client-options.js';
import { accountConfig } from '../test/support/accounts.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    ca: { type: 'string' },
    /** Users user0 .. user{N-1}, password pw-{i}, as bench/density.ts creates them. */
    mailboxes: { type: 'string' },
    'check-seconds': { type: 'string' },
    'idle-seconds': { type: 'string' },
    'logins-per-second': { type: 'string' },
    'concurrent-logins': { type: 'string' },
  },
});
const count = Number(values.mailboxes);
const checkMs = Number(values['check-seconds']) * 1000;
const idleMs = Number(values['idle-seconds']) * 1000;
const loginGapMs = 1000 / Number(values['logins-per-second']);
const concurrentLogins = Number(values['concurrent-logins']);
const ca = readFileSync(String(values.ca), 'utf8');

async function connect(index: number): Promise<ImapFlow> {
  // The watcher's own connection options (its shared TLS context per CA, no COMPRESS, no auto-IDLE delay).
  const account = accountConfig({
    host: 'localhost',
    port: Number(values.port),
    user: `user${index}`,
    tls: { ca, servername: undefined },
  });
  const client = new ImapFlow(imapClientOptions(account, { pass: `pw-${index}` }));
  await client.connect();
  await client.mailboxOpen('INBOX', { readOnly: true });
  return client;
}

// Logins at the bridge's pace and concurrency, so that the checks spread over the interval as the bridge's do.
const clients: ImapFlow[] = [];
const timers: NodeJS.Timeout[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: concurrentLogins }, async () => {
    while (next < count) {
      const index = next++;
      const started = performance.now();
      const client = await connect(index);
      clients.push(client);
      timers.push(setInterval(() => client.noop().catch(() => undefined), checkMs));
      const wait = loginGapMs * concurrentLogins - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }),
);
await new Promise((r) => setTimeout(r, 5_000)); // as the bridge's run: let start-up garbage be collected
const before = process.cpuUsage();
await new Promise((r) => setTimeout(r, idleMs));
const used = process.cpuUsage(before);
for (const timer of timers) clearInterval(timer);
await Promise.all(clients.map((client) => client.logout().catch(() => client.close())));
console.log(
  JSON.stringify({
    mailboxes: clients.length,
    idleCpuPercent: ((used.user + used.system) / 1000 / idleMs) * 100,
  }),
);
