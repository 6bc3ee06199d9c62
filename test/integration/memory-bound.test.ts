import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Scenario, startScenario } from '../support/scenario.js';

const MAILBOXES = Array.from({ length: 12 }, (_, i) => `Backlog${i}`);
const PER_MAILBOX = 4;
const MESSAGE_MIB = 6;

/** A plain-text message of about `mib` MiB: large mail the way a scanner or a log export sends it. */
function largeMessage(subject: string, mib: number): string {
  const line = `${'lorem ipsum dolor sit amet '.repeat(3)}\r\n`;
  return (
    `From: scanner@example.com\r\nTo: support@example.com\r\nSubject: ${subject}\r\n` +
    `Content-Type: text/plain\r\n\r\n${line.repeat(Math.ceil((mib * 1024 * 1024) / line.length))}`
  );
}

// After a restart with many mailboxes catching up at once, every session fetches its backlog together: without a
// cap on the bytes in flight that is every mailbox's batch at the same time (here 288 MiB of sources, then
// parsing on top), and the 512 MiB watcher task ran out of memory. With the cap the peak stays bounded.
describe('many mailboxes catching up on large mail at once', () => {
  let scenario: Scenario;

  before(async () => {
    scenario = await startScenario({
      mailboxes: MAILBOXES,
      account: { mailboxes: MAILBOXES, initialSync: 'all' },
    });
    for (const mailbox of MAILBOXES)
      for (let i = 0; i < PER_MAILBOX; i++)
        await scenario.appender.append(mailbox, largeMessage(`${mailbox} #${i}`, MESSAGE_MIB));
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('delivers every message with the bridge process peaking under 550 MiB (675 MiB without the cap, measured)', async (t) => {
    const { bridge, receiver } = scenario;
    await bridge.start();
    const total = MAILBOXES.length * PER_MAILBOX;
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length >= total,
      180_000,
      `all ${total} large messages`,
    );
    const peak = bridge.peakRssMiB();
    assert.equal(new Set(receiver.ofType('message.received').map((w) => w.id)).size, total);
    t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB`);
    assert.ok(peak < 550, `peak RSS ${peak.toFixed(0)} MiB`);
  });
});
