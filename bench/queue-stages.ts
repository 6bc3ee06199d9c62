// Local mode's two queue stages alone (ingest -> delivery, on the SQLite file), without IMAP, parsing or HTTP:
// the CPU each record costs in the queues, with records handed straight to a worker that has room (what
// `idlehook run` does) next to the same queues with every record stored and received (the baseline), in
// interleaved rounds of one process. Records have the sizes of bench:throughput's (a ~5 KB delivery body).
// Usage: npm run bench:queue-stages [-- --records 5000 --rounds 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openLocalStores } from '../src/adapters/local/local-stores.js';
import { QueueWorker } from '../src/adapters/local/queue-worker.js';
import { systemClock } from '../src/adapters/system-clock.js';
import type { DeliveryRecord, IngestRecord } from '../src/pipeline/records.js';
import type { Logger } from '../src/ports/services.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
  },
});
const records = Number(values.records);
const rounds = Number(values.rounds);
/** Records the producer sends at once: the watcher's fetch batches are of this order when mail trickles in. */
const BATCH = 16;
const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error: (message, fields) => console.error(message, fields),
};
const envelope = JSON.stringify({ type: 'message.received', data: { text: 'x'.repeat(4800) } });

type Pattern = 'paced' | 'backlog';

/** CPU milliseconds per record through both queues. */
async function round(handOff: boolean, pattern: Pattern): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'idlehook-queue-stages-'));
  const stores = openLocalStores(dir, systemClock);
  if (!handOff) {
    // The baseline: every record is stored visible and leased by a receive.
    stores.ingest.handOffTo = () => () => {};
    stores.deliveries.handOffTo = () => () => {};
  }
  let delivered = 0;
  /** Resolved once this many records are through both stages: waiting costs no CPU of its own. */
  let waitingFor = { count: 0, resolve: () => {} };
  const deliveredAll = (count: number) =>
    new Promise<void>((resolve) => {
      waitingFor = { count, resolve };
      if (delivered >= count) resolve();
    });
  const parse = new QueueWorker<IngestRecord>(
    stores.ingest,
    async (message) => {
      const arrival = message.body as Extract<IngestRecord, { kind: 'message' }>;
      const delivery: DeliveryRecord = {
        eventId: arrival.eventId,
        eventType: 'message.received',
        subscriptionId: 'sub_bench',
        body: envelope,
        detectedAt: arrival.detectedAt,
      };
      await stores.deliveries.send([{ deduplicationKey: `${arrival.eventId}:sub_bench`, body: delivery }]);
      return { kind: 'done' };
    },
    { name: 'ingest', concurrency: 16, logger: quiet },
  );
  const deliver = new QueueWorker<DeliveryRecord>(
    stores.deliveries,
    async () => {
      if (++delivered >= waitingFor.count) waitingFor.resolve();
      return { kind: 'done' };
    },
    { name: 'delivery', concurrency: 32, perGroupLimit: 24, logger: quiet },
  );
  parse.start();
  deliver.start();
  const cpuBefore = process.cpuUsage();
  for (let sent = 0; sent < records; sent += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, records - sent) }, (_, i) => {
      const eventId = `evt_${sent + i}`;
      const arrival: IngestRecord = {
        kind: 'message',
        eventId,
        rawKey: `raw/acct/INBOX/1/${sent + i}.eml`,
        detectedAt: new Date().toISOString(),
        account: 'acct',
        mailbox: 'INBOX',
        uidValidity: '1',
        uid: sent + i + 1,
        modseq: null,
        flags: [],
        internalDate: null,
        size: 3000,
      };
      return { deduplicationKey: eventId, body: arrival };
    });
    await stores.ingest.send(batch);
    // Paced: the next batch comes once this one is through both stages, as when mail trickles in.
    if (pattern === 'paced') await deliveredAll(sent + batch.length);
  }
  await deliveredAll(records);
  const cpu = process.cpuUsage(cpuBefore);
  await parse.stop();
  await deliver.stop();
  stores.close();
  rmSync(dir, { recursive: true, force: true });
  return (cpu.user + cpu.system) / 1000 / records;
}

console.log(
  `idlehook queue-stages benchmark: ${records} records through the ingest and delivery queues, ${rounds} rounds each, interleaved`,
);
for (const pattern of ['paced', 'backlog'] as const) {
  const cpu = { baseline: [] as number[], handOff: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    cpu.baseline.push(await round(false, pattern));
    cpu.handOff.push(await round(true, pattern));
  }
  const median = (values: number[]) => percentile(values, 50);
  const line = (values: number[]) =>
    `${values.map((v) => v.toFixed(3)).join(', ')} ms (median ${median(values).toFixed(3)})`;
  console.log(`  ${pattern === 'paced' ? `paced (${BATCH} at a time)` : 'backlog (all at once)'}`);
  console.log(`    stored and received (baseline)   ${line(cpu.baseline)}`);
  console.log(`    handed off where there is room   ${line(cpu.handOff)}`);
  console.log(
    `    ratio                            ${(median(cpu.handOff) / median(cpu.baseline)).toFixed(2)}`,
  );
}
