// Burst throughput, end to end (APPEND -> verified webhook), next to the baseline measured in the same run:
// how fast Dovecot itself accepts the burst (APPEND rate over the same connections). The burst is spread over
// several watched mailboxes, one APPEND connection each: Dovecot serializes APPENDs to one mailbox, so a
// single mailbox would measure its lock, not the bridge. A second baseline is the floor: the CPU the given
// libraries (imapflow, mailparser, node:http) need per message alone (bench/library-floor.ts), next to what Dovecot
// and the receiver use, which bounds the rate any bridge built on them reaches on this machine. A third burst
// into the catch-up's process, once idle, and the floor's second pass give the same comparison warm: V8 has
// compiled the hot code by then.
// Usage: npm run bench:throughput [-- --messages 5000 --mailboxes 4 --log-level info]
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { ImapFlow } from 'imapflow';
import { connectAppender, simpleMessage } from '../test/support/mail.js';
import { PASSWORD, startScenario, USER, waitForIdle } from '../test/support/scenario.js';
import { figuresOfChild } from './stats.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '5000' },
    mailboxes: { type: 'string', default: '4' },
    // The bridge's log level: info (the default) writes a line per delivered webhook.
    'log-level': { type: 'string', default: 'info' },
  },
});
const total = Number(values.messages);
const IDLE_AFTER_MS = 30_000;
const mailboxes = ['INBOX', 'Support', 'Sales', 'Billing', 'Orders', 'Returns', 'Press', 'Jobs'].slice(
  0,
  Number(values.mailboxes),
);
const BODY = 'The printer on the third floor is out of toner again, could someone have a look?\r\n'.repeat(
  40,
);

const scenario = await startScenario({
  mailboxes,
  config: { logLevel: values['log-level'], delivery: { retryScheduleSeconds: [5, 300] } },
});
const { dovecot, receiver, bridge } = scenario;
const appenders: ImapFlow[] = [];
for (const _ of mailboxes) appenders.push(await connectAppender(dovecot, USER, PASSWORD));

async function appendBurst(prefix: string): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    appenders.map(async (client, index) => {
      const mailbox = mailboxes[index] as string;
      for (let i = next++; i < total; i = next++)
        await client.append(mailbox, simpleMessage(`${prefix}-${i}`, BODY));
    }),
  );
  return performance.now() - started;
}

const delivered = (prefix: string) =>
  receiver.accepted.filter((w) => String(w.body.data.subject).startsWith(`${prefix}-`));

/**
 * How many webhooks of a burst have arrived, counted incrementally: the receiver shares the machine with the
 * bridge, and re-filtering every accepted webhook on each arrival made it the bottleneck of the catch-up.
 */
function arrivalCounter(prefix: string): () => number {
  let scanned = 0;
  let count = 0;
  return () => {
    for (; scanned < receiver.accepted.length; scanned++)
      if (String(receiver.accepted[scanned]?.body.data.subject).startsWith(`${prefix}-`)) count++;
    return count;
  };
}

function rate(count: number, ms: number): string {
  return `${((count / ms) * 1000).toFixed(0)} msg/s`;
}

// 1. Live burst: the bridge is running and in IDLE when the burst starts.
await bridge.start();
await waitForIdle(bridge);
// The same build idle before any mail: the baseline for the idle figure after the bursts.
await new Promise((resolve) => setTimeout(resolve, 5000));
const idleBefore = await memoryOf(bridge);
const liveCpuBefore = bridge.cpuSeconds();
const liveStart = performance.now();
const appendMs = await appendBurst('live');
const liveArrivals = arrivalCounter('live');
await receiver.waitUntil(() => liveArrivals() >= total, 600_000, 'live burst');
const liveMs = (delivered('live').at(-1)?.receivedAt ?? Number.NaN) - liveStart;
const lagMs = liveStart + liveMs - (liveStart + appendMs);
const liveCpuMs = (bridge.cpuSeconds() - liveCpuBefore) * 1000;

// 2. Catch-up: the same burst lands while the bridge is stopped; measured from the process start.
await bridge.kill('SIGTERM');
const catchUpAppendMs = await appendBurst('backlog');
const dovecotCpuBefore = dovecot.cpuSeconds();
const machineBefore = machineCpu();
const receiverCpuBefore = process.cpuUsage();
const restart = performance.now();
await bridge.start();
const backlogArrivals = arrivalCounter('backlog');
await receiver.waitUntil(() => backlogArrivals() >= total, 600_000, 'backlog');
const catchUpMs = (delivered('backlog').at(-1)?.receivedAt ?? Number.NaN) - restart;
const catchUpCpuMs = bridge.cpuSeconds() * 1000; // from process start, like the rate
const dovecotCpuMs = (dovecot.cpuSeconds() - dovecotCpuBefore) * 1000;
const machineAfter = machineCpu();
const machineBusyCores =
  (cpus().length * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total);
const { user: receiverUser, system: receiverSystem } = process.cpuUsage(receiverCpuBefore);
const receiverCpuMs = (receiverUser + receiverSystem) / 1000;
const peak = bridge.peakRssMiB();
// Idle again: what the process keeps once the burst is over (issue 31's bound is 100 MB).
await new Promise((resolve) => setTimeout(resolve, IDLE_AFTER_MS));
const idleAfter = await memoryOf(bridge);

// 3. A live burst into that warm process: V8 compiled the hot code during the catch-up (a fresh process spends
// a good part of its CPU on it, on threads of its own), so this is what a long-running bridge pays per message.
const warmCpuBefore = bridge.cpuSeconds();
await appendBurst('warm');
const warmArrivals = arrivalCounter('warm');
await receiver.waitUntil(() => warmArrivals() >= total, 600_000, 'warm burst');
const warmCpuMs = (bridge.cpuSeconds() - warmCpuBefore) * 1000;
await bridge.kill('SIGTERM');

// 4. The floor: the given libraries alone, on the same messages (all three bursts), in a process of their own.
const floor = await libraryFloor();

const unique = new Set(receiver.accepted.map((w) => w.id)).size;
const perMailbox = new Map<string, number>();
for (const w of receiver.accepted) {
  const mailbox = String(w.body.data.mailbox);
  perMailbox.set(mailbox, (perMailbox.get(mailbox) ?? 0) + 1);
}
console.log(
  `\nidlehook throughput benchmark: ${total} messages of ~${Math.round(BODY.length / 1024)} KiB, over ${mailboxes.length} watched mailboxes (one APPEND connection each)`,
);
console.log(
  `  baseline: Dovecot accepts the burst (APPEND)    ${rate(total, appendMs)}  (${(appendMs / 1000).toFixed(2)} s)`,
);
console.log(
  `  live burst, APPEND start -> last webhook         ${rate(total, liveMs)}  (${(liveMs / 1000).toFixed(2)} s, last webhook ${lagMs.toFixed(0)} ms after the last APPEND)`,
);
console.log(`  ratio idlehook / Dovecot APPEND rate             ${(appendMs / liveMs).toFixed(3)}`);
console.log(
  `  catch-up of a ${total}-message backlog            ${rate(total, catchUpMs)}  (${(catchUpMs / 1000).toFixed(2)} s from process start; backlog appended at ${rate(total, catchUpAppendMs)})`,
);
console.log(
  `  bridge CPU per message (user + system)       live ${(liveCpuMs / total).toFixed(2)} ms, catch-up ${(catchUpCpuMs / total).toFixed(2)} ms (from process start)`,
);
console.log(
  `  webhooks ${receiver.accepted.length}, unique ids ${unique}, invalid signatures ${receiver.invalidSignatures}`,
);
console.log(`  webhooks per mailbox: ${[...perMailbox].map(([m, n]) => `${m} ${n}`).join(', ')}`);
console.log(`  bridge peak RSS ${peak.toFixed(0)} MiB`);
const memory = (m: typeof idleAfter) =>
  `${m.rssMiB.toFixed(0)} MiB (V8 heap ${m.heapUsedMiB.toFixed(0)} MiB used of ${m.heapTotalMiB.toFixed(0)}, external ${m.externalMiB.toFixed(0)} MiB)`;
console.log(`  bridge RSS idle before the live burst       ${memory(idleBefore)}`);
console.log(
  `  bridge RSS ${IDLE_AFTER_MS / 1000} s after the catch-up           ${memory(idleAfter)}; ${(idleAfter.rssMiB / idleBefore.rssMiB).toFixed(2)}x the idle figure before`,
);
const perMessage = (ms: number) => ms / floor.messages;
const floorMs = perMessage(floor.fetchCpuMs + floor.parseCpuMs + floor.sendCpuMs);
console.log(
  `  floor: the given libraries alone, CPU per message  imapflow FETCH ${perMessage(floor.fetchCpuMs).toFixed(2)} ms + mailparser ${perMessage(floor.parseCpuMs).toFixed(2)} ms + sign and POST ${perMessage(floor.sendCpuMs).toFixed(2)} ms = ${floorMs.toFixed(2)} ms (${floor.messages} messages)`,
);
const othersMs = (dovecotCpuMs + receiverCpuMs) / total;
console.log(
  `  one thread at the floor would reach              ${(1000 / floorMs).toFixed(0)} msg/s; the bridge's catch-up CPU per message is ${(catchUpCpuMs / total / floorMs).toFixed(2)}x the floor`,
);
const warmFloorMs = perMessage(floor.warm.fetchCpuMs + floor.warm.parseCpuMs + floor.warm.sendCpuMs);
console.log(
  `  warm: a third burst into the catch-up's process  ${(warmCpuMs / total).toFixed(2)} ms per message; the floor's second pass over the same messages ${warmFloorMs.toFixed(2)} ms (FETCH ${perMessage(floor.warm.fetchCpuMs).toFixed(2)} + parse ${perMessage(floor.warm.parseCpuMs).toFixed(2)} + POST ${perMessage(floor.warm.sendCpuMs).toFixed(2)}); ${(warmCpuMs / total / warmFloorMs).toFixed(2)}x the warm floor`,
);
console.log(
  `  the rest of the machine during the catch-up      Dovecot ${(dovecotCpuMs / total).toFixed(2)} ms + receiver (the benchmark process) ${(receiverCpuMs / total).toFixed(2)} ms per message`,
);
console.log(
  `  the whole machine during the catch-up            ${machineBusyCores.toFixed(2)} of ${cpus().length} cores busy (/proc/stat)`,
);
console.log(
  `  ${cpus().length} cores busy, no work of idlehook's own     ${((cpus().length * 1000) / (floorMs + othersMs)).toFixed(0)} msg/s at most (cores x 1000 / (floor + Dovecot + receiver), per message)`,
);

/** The bridge's resident memory and V8's heap, from /proc and the default figures its /metrics exports. */
async function memoryOf(process: typeof bridge): Promise<{
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
}> {
  // RSS before the request: answering it loads the HTTP app.
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${process.pid}/status`, 'utf8'))?.[1]);
  const text = await (await fetch(`${process.url}/metrics`)).text();
  const mib = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return {
    rssMiB: rssKb / 1024,
    heapUsedMiB: mib('nodejs_heap_size_used_bytes'),
    heapTotalMiB: mib('nodejs_heap_size_total_bytes'),
    externalMiB: mib('nodejs_external_memory_bytes'),
  };
}

/** Jiffies the machine spent, in all and busy, from /proc/stat's first line (user to steal; guest time is inside user). */
function machineCpu(): { total: number; busy: number } {
  const jiffies = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const total = jiffies.reduce((sum, value) => sum + value, 0);
  const idle = (jiffies[3] ?? 0) + (jiffies[4] ?? 0);
  return { total, busy: total - idle };
}

interface FloorCpu {
  fetchCpuMs: number;
  parseCpuMs: number;
  sendCpuMs: number;
}

async function libraryFloor(): Promise<FloorCpu & { messages: number; warm: FloorCpu }> {
  const sink = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  try {
    return await figuresOfChild('bench/library-floor.ts', [
      `--port=${dovecot.tlsPort}`,
      `--ca=${dovecot.caFile}`,
      `--user=${USER}`,
      `--password=${PASSWORD}`,
      `--mailboxes=${mailboxes.join(',')}`,
      `--sink=http://127.0.0.1:${(sink.address() as AddressInfo).port}/`,
    ]);
  } finally {
    sink.close();
  }
}

for (const client of appenders) await client.logout();
await scenario.dispose();
