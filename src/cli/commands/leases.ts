import { type Command, text } from '../command.js';

/** Longer than the default lease (15 s): a running watcher beats at least once in it. */
const DEFAULT_WATCH_SECONDS = 20;

export const resetLeasesCommand: Command = {
  name: 'leases reset',
  synopsis: '[--watch-seconds N]',
  summary:
    'with every watcher task stopped: forget the shard leases, heartbeats and shard count, so the next start may use another shardCount',
  scope: 'aws',
  options: { 'watch-seconds': { type: 'string' } },
  async run({ values, target: openTarget, out, usageError }) {
    const watchSeconds = Number(text(values, 'watch-seconds') ?? DEFAULT_WATCH_SECONDS);
    if (!Number.isFinite(watchSeconds) || watchSeconds < 0)
      return usageError('leases reset [--watch-seconds N]');
    const leases = (await openTarget()).aws?.leases;
    if (!leases) return usageError('leases reset --stack NAME (or --aws)');
    // A watcher still running would take leases again at once, under epochs its cursors would then refuse.
    const before = (await leases.list(0)).heartbeats;
    await new Promise((resolve) => setTimeout(resolve, watchSeconds * 1000));
    const after = (await leases.list(0)).heartbeats;
    const running = [...after].filter(([worker, counter]) => before.get(worker) !== counter).map(([w]) => w);
    if (running.length > 0) {
      process.stderr.write(
        `Watcher tasks are still running (${running.join(', ')} beat in the last ${watchSeconds} s): scale the watcher service to 0 tasks, then run this again.\n`,
      );
      return 1;
    }
    const { leaseItems, cursors } = await leases.reset();
    out(
      `Leases reset: ${leaseItems} lease table items removed, ${cursors} cursors' lease epochs cleared. Deploy with the new shardCount and start the watcher again.`,
    );
    return 0;
  },
};
