// The CPU the given libraries need per message when they run alone, with none of idlehook's own work: imapflow
// fetching the messages over TLS, mailparser parsing them with idlehook's options, and node:http posting one
// signed webhook per message over keep-alive connections. Their sum is the least CPU a bridge built on these
// libraries can spend per message on this machine. Run by bench/throughput.ts in a child process of its own,
// so that its CPU time counts neither the benchmark's receiver nor Dovecot; prints one JSON line.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { signWebhook } from '../src/domain/signing.js';
import { MAILPARSER_OPTIONS } from '../src/pipeline/parse-message.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    ca: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    mailboxes: { type: 'string' },
    sink: { type: 'string' },
  },
});

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function measured<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = cpuMs();
  const result = await work();
  return { result, cpuMs: cpuMs() - before };
}

const client = new ImapFlow({
  host: 'localhost',
  port: Number(values.port),
  secure: true,
  tls: { ca: readFileSync(String(values.ca)) },
  auth: { user: String(values.user), pass: String(values.password) },
  logger: false,
});
await client.connect();

// What the watcher asks for when CONDSTORE is on (imapflow's types lack `modseq`, as in src/imap/mailbox-sync.ts).
const METADATA = { uid: true, size: true, flags: true, internalDate: true, modseq: true };

// The watcher's two FETCHes of a backlog: metadata first, then the sources.
async function fetchAll(): Promise<Buffer[]> {
  const sources: Buffer[] = [];
  for (const mailbox of String(values.mailboxes).split(',')) {
    // Read-only (EXAMINE): the floor must not change flags the running bridge would then announce.
    const lock = await client.getMailboxLock(mailbox, { readOnly: true });
    try {
      const uids: number[] = [];
      for await (const message of client.fetch('1:*', METADATA, { uid: true })) uids.push(message.uid);
      for await (const message of client.fetch(uids.join(','), { uid: true, source: true }, { uid: true }))
        if (message.source) sources.push(message.source);
    } finally {
      lock.release();
    }
  }
  return sources;
}

async function parseAll(sources: readonly Buffer[]) {
  const messages = [];
  for (const raw of sources) messages.push(await simpleParser(raw, MAILPARSER_OPTIONS));
  return messages;
}

// Each stage runs twice over the same messages: the first pass includes V8 compiling the libraries' hot code, as
// a freshly started bridge does; the second is the warm cost, the one a long-running bridge pays.
const fetched = await measured(fetchAll);
const fetchedWarm = await measured(fetchAll);
await client.logout();
const sources = fetched.result;

const parsed = await measured(() => parseAll(sources));
const parsedWarm = await measured(() => parseAll(sources));
// The bodies to post, about the size of the bridge's events; built outside the measured stages.
const bodies = parsed.result.map((message) =>
  JSON.stringify({ subject: message.subject, text: message.text, headers: message.headerLines }),
);

// Standard Webhooks signing (idlehook's signWebhook: one HMAC-SHA256 over "id.timestamp.body") and a
// keep-alive POST, 32 in flight as the bridge's default delivery concurrency.
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const key = randomBytes(24);
const sink = new URL(String(values.sink));
function post(body: string, name: string): Promise<void> {
  const id = `msg_${name}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      sink,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook([key], id, timestamp, body),
        },
      },
      (response) => {
        response.resume();
        response.on('end', resolve);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
async function postAll(pass: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < bodies.length; i = next++) await post(bodies[i] as string, `${pass}_${i}`);
    }),
  );
}
const sent = await measured(() => postAll('cold'));
const sentWarm = await measured(() => postAll('warm'));
agent.destroy();

console.log(
  JSON.stringify({
    messages: sources.length,
    fetchCpuMs: fetched.cpuMs,
    parseCpuMs: parsed.cpuMs,
    sendCpuMs: sent.cpuMs,
    warm: { fetchCpuMs: fetchedWarm.cpuMs, parseCpuMs: parsedWarm.cpuMs, sendCpuMs: sentWarm.cpuMs },
  }),
);
