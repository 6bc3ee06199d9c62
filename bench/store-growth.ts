// What local mode's per-message writes cost as the SQLite file fills up, the baseline being the same writes to
// an empty file in the same run: per message, the raw source (a blob), the delivery log row and the attempt log
// row, three messages to a transaction (about what a burst commits at once). Event ids are hashes, so the
// deliveries' primary key and the blobs' keys are inserted in random order, as in the bridge. Retention keeps 30
// days by default: a mailbox taking 10,000 messages a day holds 300,000.
// Usage: npm run bench:store-growth [-- --messages 300000 --step 20000]
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openLocalStores } from '../src/adapters/local/local-stores.js';
import { systemClock } from '../src/adapters/system-clock.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '300000' },
    step: { type: 'string', default: '20000' },
  },
});
const total = Number(values.messages);
const step = Number(values.step);
const PER_TRANSACTION = 3;
const dir = mkdtempSync(join(tmpdir(), 'idlehook-store-growth-'));
const stores = openLocalStores(dir, systemClock);
const raw = randomBytes(3600);

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function store(index: number): Promise<void> {
  const eventId = `evt_${createHash('sha256').update(String(index)).digest('hex').slice(0, 32)}`;
  await Promise.all([
    stores.blobs.put(`raw/${eventId}.eml`, raw),
    stores.state.markDelivered(eventId, 'sub_1', 1),
    stores.attempts.recordAttempt({
      subscriptionId: 'sub_1',
      attemptedAt: Date.now(),
      eventId,
      eventType: 'message.received',
      attempt: 1,
      durationMs: 3,
      succeeded: true,
      status: 204,
    }),
  ]);
}

console.log(
  `local store growth: ${total} messages (a ${raw.length}-byte source each), ${PER_TRANSACTION} to a transaction`,
);
let baseline: number | undefined;
for (let stored = 0; stored < total; ) {
  const before = cpuMs();
  const end = Math.min(total, stored + step);
  for (let first = stored; first < end; first += PER_TRANSACTION) {
    const batch = [];
    for (let i = first; i < Math.min(end, first + PER_TRANSACTION); i++) batch.push(store(i));
    await Promise.all(batch);
  }
  stored = end;
  const perMessageUs = ((cpuMs() - before) / step) * 1000;
  baseline ??= perMessageUs;
  const fileMiB = statSync(join(dir, 'idlehook.db')).size / 2 ** 20;
  console.log(
    `  ${String(end).padStart(7)} stored  ${perMessageUs.toFixed(1).padStart(6)} us of CPU per message  ${(perMessageUs / baseline).toFixed(2)}x the first ${step}  (file ${fileMiB.toFixed(0)} MiB)`,
  );
}
stores.close();
rmSync(dir, { recursive: true, force: true });
