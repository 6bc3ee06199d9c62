import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow } from 'imapflow';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { FlakyNetwork } from '../support/flaky-network.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import type { WebhookReceiver } from '../support/receiver.js';
import { seededRandom } from '../support/seeded-random.js';

/** Sizes of a chaos run: CI runs the short defaults, `npm run chaos` the full one (see docs/development.md). */
export const CHAOS = {
  messages: Number(process.env.CHAOS_MESSAGES ?? 600),
  /** Mail arrives spread over this long, so the faults land while it is arriving. */
  arrivalSeconds: Number(process.env.CHAOS_ARRIVAL_SECONDS ?? 20),
  kills: Number(process.env.CHAOS_KILLS ?? 3),
  networkCutSeconds: Number(process.env.CHAOS_NETWORK_CUT_SECONDS ?? 5),
  endpointDownSeconds: Number(process.env.CHAOS_ENDPOINT_DOWN_SECONDS ?? 10),
  failureRate: 0.3,
  seed: Number(process.env.CHAOS_SEED ?? Date.now() % 100_000),
};

export const MAILBOXES = ['INBOX', 'Support'];

/** Dovecot with the chaos user's mailboxes, reached by the bridge through a network that can be cut. */
export async function startChaosMailServer(user: {
  name: string;
  password: string;
}): Promise<{ dovecot: DovecotServer; network: FlakyNetwork }> {
  const dovecot = await startDovecot([user]);
  const setup = await connectAppender(dovecot, user.name, user.password);
  for (const mailbox of MAILBOXES) if (mailbox !== 'INBOX') await setup.mailboxCreate(mailbox);
  await setup.logout();
  const network = new FlakyNetwork(dovecot.tlsPort);
  await network.listen();
  return { dovecot, network };
}

/** What a chaos run needs from the bridge under test, in local mode or in the AWS shape. */
export interface BridgeUnderTest {
  start(): Promise<void>;
  /** Every mailbox in IDLE: on first sight a mailbox's baseline is its UIDNEXT, so earlier mail is not news. */
  watching(): Promise<void>;
  kill(): Promise<void>;
  /** Nothing left to do: every mailbox caught up and in IDLE, and the queues drained (no retry waiting either). */
  drained(): Promise<boolean>;
  replayDeadLetters(): Promise<void>;
  deadLetterCount(): Promise<number>;
}

export interface ChaosReport {
  readonly appended: number;
  readonly delivered: number;
  readonly missing: readonly string[];
  readonly webhooks: number;
  readonly duplicates: number;
  readonly subjectsWithSeveralIds: number;
  readonly deadLettersBeforeReplay: number;
  readonly deadLettersAfterReplay: number;
  readonly requests: number;
  readonly failedRequests: number;
  /** Requests answered while the endpoint was failing 30%, and how many of them it failed. */
  readonly requestsWhileFailing: number;
  readonly refusedWhileFailing: number;
  readonly seconds: number;
  readonly log: readonly string[];
}

/**
 * Mail arrives steadily while the bridge is SIGKILLed at random moments, Dovecot restarts once, the network
 * to Dovecot is cut for a while and the endpoint fails 30% of requests and is down for a while. Then the
 * faults stop, the bridge drains, the dead letters are replayed and every message is accounted for.
 */
export async function runChaos(
  bridge: BridgeUnderTest,
  dovecot: DovecotServer,
  network: FlakyNetwork,
  receiver: WebhookReceiver,
  user: { name: string; password: string },
): Promise<ChaosReport> {
  const random = seededRandom(CHAOS.seed);
  const started = Date.now();
  const log: string[] = [`seed ${CHAOS.seed}`];
  const at = (what: string) => log.push(`${((Date.now() - started) / 1000).toFixed(1)} s  ${what}`);
  let endpointFailing = true;
  const failing = { requests: 0, refused: 0 };
  receiver.respond = () => {
    if (!endpointFailing) return 200;
    failing.requests += 1;
    if (random() >= CHAOS.failureRate) return 200;
    failing.refused += 1;
    return 500;
  };

  await bridge.start();
  await bridge.watching();
  let appender: ImapFlow = await connectAppender(dovecot, user.name, user.password);
  const subjects: string[] = [];
  let appendingPaused: Promise<void> | undefined;

  const arrivalMs = CHAOS.arrivalSeconds * 1000;
  const appending = (async () => {
    const perTick = Math.max(1, Math.ceil(CHAOS.messages / (arrivalMs / 100)));
    while (subjects.length < CHAOS.messages) {
      await appendingPaused;
      for (let i = 0; i < perTick && subjects.length < CHAOS.messages; i++) {
        const subject = `chaos-${subjects.length}`;
        await appender.append(
          MAILBOXES[subjects.length % MAILBOXES.length] ?? 'INBOX',
          simpleMessage(subject),
        );
        subjects.push(subject);
      }
      await sleep(100);
    }
  })();

  const faults: Promise<void>[] = [];
  // One kill-and-restart at a time: two overlapping ones would start two bridges.
  let lifecycle = Promise.resolve();
  const after = async (fraction: number) => {
    await sleep(Math.max(0, started + fraction * arrivalMs - Date.now()));
  };
  for (let k = 0; k < CHAOS.kills; k++) {
    const moment = 0.05 + 0.85 * random();
    const downMs = 200 + 1300 * random();
    faults.push(
      (async () => {
        await after(moment);
        lifecycle = lifecycle.then(async () => {
          await bridge.kill();
          at('bridge SIGKILLed');
          await sleep(downMs);
          await bridge.start();
          at('bridge restarted');
        });
        await lifecycle;
      })(),
    );
  }
  faults.push(
    (async () => {
      await after(0.35);
      // Appends pause around the restart: an APPEND cut off mid-way may or may not have stored its message.
      let resume = () => {};
      appendingPaused = new Promise((r) => {
        resume = r;
      });
      await sleep(150);
      await dovecot.halt();
      at('Dovecot halted');
      await sleep(1000);
      await dovecot.start();
      at('Dovecot started');
      appender = await connectAppender(dovecot, user.name, user.password);
      appendingPaused = undefined;
      resume();
    })(),
  );
  faults.push(
    (async () => {
      await after(0.55);
      network.cutOff();
      at('network to Dovecot cut');
      await sleep(CHAOS.networkCutSeconds * 1000);
      network.restore();
      at('network restored');
    })(),
  );
  faults.push(
    (async () => {
      await after(0.7);
      receiver.refuseConnections = true;
      at('endpoint down');
      await sleep(CHAOS.endpointDownSeconds * 1000);
      receiver.refuseConnections = false;
      at('endpoint up');
    })(),
  );
  await Promise.all([appending, ...faults]);
  at(`all ${subjects.length} messages appended, faults over`);
  endpointFailing = false;
  await appender.logout().catch(() => undefined);

  const delivered = () =>
    new Set(receiver.ofType('message.received').map((w) => w.body.data.subject as string));
  // Drained twice in a row (a retry may be on its way back), or everything delivered.
  let quietChecks = 0;
  const deadline = Date.now() + 600_000;
  while (delivered().size < subjects.length && quietChecks < 2 && Date.now() < deadline) {
    quietChecks = (await bridge.drained()) ? quietChecks + 1 : 0;
    await sleep(1000);
  }
  at(`drained: ${delivered().size} delivered`);
  const deadLettersBeforeReplay = await bridge.deadLetterCount();
  await bridge.replayDeadLetters();
  const deadLettersAfterReplay = await bridge.deadLetterCount();
  at(`replayed ${deadLettersBeforeReplay} dead letters`);

  const received = receiver.ofType('message.received');
  const idsBySubject = new Map<string, Set<string>>();
  for (const w of received) {
    const subject = w.body.data.subject as string;
    idsBySubject.set(subject, (idsBySubject.get(subject) ?? new Set()).add(w.id));
  }
  return {
    appended: subjects.length,
    delivered: idsBySubject.size,
    missing: subjects.filter((s) => !idsBySubject.has(s)),
    webhooks: received.length,
    duplicates: received.length - new Set(received.map((w) => w.id)).size,
    subjectsWithSeveralIds: [...idsBySubject.values()].filter((ids) => ids.size > 1).length,
    deadLettersBeforeReplay,
    deadLettersAfterReplay,
    requests: receiver.attempts.length,
    failedRequests: receiver.attempts.filter((a) => a.status >= 300).length,
    requestsWhileFailing: failing.requests,
    refusedWhileFailing: failing.refused,
    seconds: Math.round((Date.now() - started) / 1000),
    log,
  };
}

/** What every chaos run must show, whatever the mode. */
export function assertNothingLost(report: ChaosReport, receiver: WebhookReceiver): void {
  assert.deepEqual(report.missing, [], 'every message delivered');
  assert.equal(report.appended, CHAOS.messages);
  assert.equal(report.subjectsWithSeveralIds, 0, 'a message re-delivered keeps its webhook-id');
  assert.equal(report.deadLettersAfterReplay, 0, 'the dead-letter store is empty after replay');
  assert.ok(report.duplicates <= report.appended * 0.05, `${report.duplicates} duplicates is not "few"`);
  assert.equal(receiver.invalidSignatures, 0);
  assert.deepEqual(receiver.schemaViolations, []);
}

export function printReport(mode: string, report: ChaosReport): void {
  const { log, missing, ...figures } = report;
  console.log(`# chaos (${mode}): ${JSON.stringify({ ...figures, missing: missing.length })}`);
  if (missing.length > 0) console.log(`# missing: ${missing.join(', ')}`);
  for (const line of log) console.log(`#   ${line}`);
}
