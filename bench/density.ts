// How many idle mailboxes one bridge process holds, and at what cost: the bridge (local mode, a separate process
// started through the real CLI) watches N accounts of one INBOX each on one Dovecot, next to a one-mailbox run of
// the same build as the baseline, and its idle CPU next to the floor: N bare imapflow clients (bench/idle-floor.ts).
// Usage: npm run bench:density [-- --mailboxes 1000 --samples 20 --idle-seconds 60 --check-seconds 60 --compress --plain]
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_LOGIN_LIMITS } from '../src/config/config.js';
import { BridgeProcess } from '../test/support/bridge.js';
import { type DovecotServer, startDovecot } from '../test/support/dovecot.js';
import { connectAppender, simpleMessage } from '../test/support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../test/support/receiver.js';
import { figuresOfChild, ms, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '200' },
    samples: { type: 'string', default: '20' },
    'idle-seconds': { type: 'string', default: '60' },
    /** Offer COMPRESS=DEFLATE, which imapflow then turns on for every connection. */
    compress: { type: 'boolean', default: false },
    /** Plain-text IMAP on loopback instead of TLS: how much of each mailbox's memory is TLS. */
    plain: { type: 'boolean', default: false },
    'clients-per-process': { type: 'string', default: '100' },
    /** The bridge's login pace (imap.loginsPerSecond, imap.maxConcurrentLogins); defaults are the config's. */
    'logins-per-second': { type: 'string' },
    'concurrent-logins': { type: 'string' },
    /** imap.checkIntervalSeconds (default 60): shorter makes the idle window hold many checks per mailbox. */
    'check-seconds': { type: 'string' },
  },
});
const mailboxes = Number(values.mailboxes);
const samples = Number(values.samples);
const idleSeconds = Number(values['idle-seconds']);
const users = Array.from({ length: mailboxes }, (_, i) => ({ name: `user${i}`, password: `pw-${i}` }));

/** Resident memory of a process now (VmRSS), in KiB. */
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

async function allIdle(bridge: BridgeProcess, count: number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const status = await bridge.status().catch(() => ({ accounts: {} }));
    const idle = Object.values(status.accounts).flatMap((account) =>
      Object.values(account.mailboxes).filter((mailbox) => mailbox.state === 'idle'),
    ).length;
    if (idle >= count) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not all ${count} mailboxes in IDLE within ${timeoutMs} ms`);
}

interface RunFigures {
  readonly startToIdleMs: number;
  readonly rssKiB: number;
  /** RSS once idle again after the latency samples: what a bridge that has delivered mail holds. */
  readonly rssAfterMailKiB: number;
  readonly idleCpuPercent: number;
  /** The part of idleCpuPercent on the main thread (the rest: V8's GC helpers, libuv's pool). */
  readonly idleMainThreadPercent: number;
  /** The same by kind of thread (by name: main, V8's helpers, libuv's pool, workers). */
  readonly idleThreadPercent: ReadonlyMap<string, number>;
  readonly latency: ReturnType<typeof summary>;
  readonly restartToIdleMs?: number;
  readonly restartPeakLoginsPerSecond?: number;
}

async function run(
  dovecot: DovecotServer,
  count: number,
  options: { restart: boolean },
): Promise<RunFigures> {
  const receiver = new WebhookReceiver(newWebhookSecret());
  const url = await receiver.listen();
  const bridge = await BridgeProcess.create(
    {
      logLevel: 'warn',
      imap: {
        ...(values['logins-per-second'] ? { loginsPerSecond: Number(values['logins-per-second']) } : {}),
        ...(values['concurrent-logins'] ? { maxConcurrentLogins: Number(values['concurrent-logins']) } : {}),
        ...(values['check-seconds'] ? { checkIntervalSeconds: Number(values['check-seconds']) } : {}),
      },
      accounts: users.slice(0, count).map((user) => ({
        id: user.name,
        host: 'localhost',
        ...(values.plain
          ? { port: dovecot.plainPort, security: 'none' }
          : { port: dovecot.tlsPort, tls: { ca: dovecot.caFile } }),
        user: user.name,
        password: user.password,
      })),
      subscriptions: [{ id: 'bench', url, secret: { env: 'BENCH_WEBHOOK_SECRET' } }],
    },
    { BENCH_WEBHOOK_SECRET: receiver.secret },
  );
  const started = performance.now();
  await bridge.start();
  await allIdle(bridge, count, 600_000);
  const startToIdleMs = performance.now() - started;
  const pid = bridge.pid;
  await new Promise((r) => setTimeout(r, 5_000)); // let start-up garbage be collected
  const cpuBefore = bridge.cpuSeconds();
  const threadsBefore = bridge.threadCpuSeconds();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idleCpuPercent = ((bridge.cpuSeconds() - cpuBefore) / idleSeconds) * 100;
  const idleThreadPercent = new Map(
    [...bridge.threadCpuSeconds()].map(([name, seconds]) => [
      name,
      ((seconds - (threadsBefore.get(name) ?? 0)) / idleSeconds) * 100,
    ]),
  );
  const idleMainThreadPercent = idleThreadPercent.get('main') ?? 0;
  const rss = rssKiB(pid);

  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const user = users[Math.floor((i * count) / samples)] ?? users[0];
    if (!user) break;
    const appender = await connectAppender(dovecot, user.name, user.password);
    const before = receiver.accepted.length;
    const appendedAt = performance.now();
    await appender.append('INBOX', simpleMessage(`density ${i}`));
    await receiver.waitUntil(() => receiver.accepted.length > before, 30_000, `message ${i}`);
    latencies.push((receiver.accepted[before]?.receivedAt ?? Number.NaN) - appendedAt);
    await appender.logout();
    await new Promise((r) => setTimeout(r, 1_000));
  }
  await new Promise((r) => setTimeout(r, 5_000));
  const rssAfterMail = rssKiB(pid);

  let restartToIdleMs: number | undefined;
  let restartPeakLoginsPerSecond: number | undefined;
  if (options.restart) {
    const logBefore = statSync(dovecot.logFile).size;
    await dovecot.halt();
    await dovecot.start();
    const restarted = performance.now();
    // Until the bridge has noticed: every mailbox must leave IDLE before "all in IDLE" means anything.
    await new Promise((r) => setTimeout(r, 2_000));
    await allIdle(bridge, count, 600_000);
    restartToIdleMs = performance.now() - restarted;
    restartPeakLoginsPerSecond = Math.max(0, ...dovecot.loginsPerSecond(logBefore));
  }
  // A clean stop, so that a profiled bridge (IDLEHOOK_BRIDGE_NODE_ARGS="--cpu-prof") writes its profile.
  await bridge.kill('SIGTERM');
  await bridge.dispose();
  await receiver.close();
  return {
    startToIdleMs,
    rssKiB: rss,
    rssAfterMailKiB: rssAfterMail,
    idleCpuPercent,
    idleMainThreadPercent,
    idleThreadPercent,
    latency: summary(latencies),
    ...(restartToIdleMs === undefined ? {} : { restartToIdleMs, restartPeakLoginsPerSecond }),
  };
}

/** The given library alone on the same mailboxes (bench/idle-floor.ts), in a process of its own. */
async function idleFloor(
  dovecot: DovecotServer,
  count: number,
): Promise<{ mailboxes: number; idleCpuPercent: number }> {
  return figuresOfChild('bench/idle-floor.ts', [
    `--port=${dovecot.tlsPort}`,
    `--ca=${dovecot.caFile}`,
    `--mailboxes=${count}`,
    `--check-seconds=${values['check-seconds'] ?? 60}`,
    `--idle-seconds=${idleSeconds}`,
    `--logins-per-second=${values['logins-per-second'] ?? DEFAULT_LOGIN_LIMITS.perSecond}`,
    `--concurrent-logins=${values['concurrent-logins'] ?? DEFAULT_LOGIN_LIMITS.maxConcurrent}`,
  ]);
}

const dovecot = await startDovecot(users, {
  imapClientsPerProcess: Number(values['clients-per-process']),
  compress: values.compress,
});
try {
  const baseline = await run(dovecot, 1, { restart: false });
  const dense = await run(dovecot, mailboxes, { restart: true });
  const floor = await idleFloor(dovecot, mailboxes);
  const perMailboxKiB = (dense.rssKiB - baseline.rssKiB) / (mailboxes - 1);
  console.log(
    `\nidlehook density, ${mailboxes} idle mailboxes (one account each) vs 1, one Dovecot, same run, ` +
      `${values.plain ? 'plain text' : 'TLS'}, COMPRESS=DEFLATE ${values.compress ? 'on' : 'off'}, ` +
      `login pace ${values['logins-per-second'] ?? DEFAULT_LOGIN_LIMITS.perSecond}/s, ` +
      `${values['concurrent-logins'] ?? DEFAULT_LOGIN_LIMITS.maxConcurrent} at once, ` +
      `a check every ${values['check-seconds'] ?? 60} s`,
  );
  console.log(
    `  start -> all in IDLE:        ${(dense.startToIdleMs / 1000).toFixed(1)} s  (1 mailbox: ${(baseline.startToIdleMs / 1000).toFixed(1)} s)`,
  );
  console.log(
    `  RSS:                         ${(dense.rssKiB / 1024).toFixed(0)} MiB  (1 mailbox: ${(baseline.rssKiB / 1024).toFixed(0)} MiB)`,
  );
  console.log(
    `  RSS, idle after the samples:  ${(dense.rssAfterMailKiB / 1024).toFixed(0)} MiB  (1 mailbox: ${(baseline.rssAfterMailKiB / 1024).toFixed(0)} MiB)`,
  );
  if (mailboxes > 1) console.log(`  RSS per mailbox above 1:     ${perMailboxKiB.toFixed(0)} KiB`);
  console.log(
    `  CPU while idle (${idleSeconds} s):      ${dense.idleCpuPercent.toFixed(2)} % of a core, main thread ${dense.idleMainThreadPercent.toFixed(2)} %  ` +
      `(1 mailbox: ${baseline.idleCpuPercent.toFixed(2)} %, main thread ${baseline.idleMainThreadPercent.toFixed(2)} %)`,
  );
  console.log(
    `  floor: ${floor.mailboxes} bare imapflow clients in IDLE, a NOOP each a check interval: ${floor.idleCpuPercent.toFixed(2)} % of a core; ` +
      `the bridge is ${(dense.idleCpuPercent / floor.idleCpuPercent).toFixed(2)}x the floor`,
  );
  const otherThreads = [...dense.idleThreadPercent].filter(
    ([name, percent]) => name !== 'main' && percent >= 0.01,
  );
  console.log(
    `    the other threads: ${otherThreads.map(([name, percent]) => `${name} ${percent.toFixed(2)} %`).join(', ') || 'none busy'}`,
  );
  console.log(
    `  APPEND -> webhook, ${dense.latency.n} mailboxes: p50 ${ms(dense.latency.p50)}, p99 ${ms(dense.latency.p99)}  ` +
      `(1 mailbox: p50 ${ms(baseline.latency.p50)}, p99 ${ms(baseline.latency.p99)}; p50 ratio ${(dense.latency.p50 / baseline.latency.p50).toFixed(2)})`,
  );
  console.log(
    `  Dovecot restart -> all in IDLE again: ${((dense.restartToIdleMs ?? Number.NaN) / 1000).toFixed(1)} s, ` +
      `peak ${dense.restartPeakLoginsPerSecond} logins/s`,
  );
} finally {
  await dovecot.stop();
}
