// One watcher task of the control-plane benchmark (bench/control-plane.ts): the real AWS watcher task code, its
// DynamoDB and KMS endpoints from the environment (AWS_ENDPOINT_URL_*), each mailbox's IMAP session replaced by
// a stand-in that prints when it starts and stops (no socket). Killed with SIGKILL by the benchmark.
import { startAwsWatcher } from '../src/compose/aws/aws-watcher.js';
import { loadAwsEnvironment } from '../src/config/aws-environment.js';

const write = (line: string) => process.stdout.write(`${line}\n`);

const watcher = await startAwsWatcher(loadAwsEnvironment(), {
  workerId: String(process.env.BENCH_WORKER_ID),
  healthPort: 0,
  heartbeat: async () => {},
  clients: { secrets: { resolve: async () => 'unused' } },
  mailboxSessions: (account) => ({
    run: (signal) =>
      new Promise<void>((resolve) => {
        write(`start ${account.id} ${Date.now()}`);
        signal.addEventListener('abort', () => {
          write(`stop ${account.id} ${Date.now()}`);
          resolve();
        });
      }),
  }),
});
write(`ready ${watcher.healthUrl}`);
process.on('SIGTERM', () => {
  void watcher.stop().then(() => process.exit(0));
});
