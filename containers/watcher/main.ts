// The Fargate task's entry point: configuration from the environment, then the watcher until SIGTERM.

import { createLogger } from '../../src/adapters/powertools-logger.js';
import { startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { stopOnSignals } from '../../src/compose/stop-on-signals.js';
import { exitOnUnexpectedErrors } from '../../src/compose/unexpected-errors.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { ConfigError } from '../../src/config/load-config.js';

let env: AwsEnvironment;
try {
  env = loadAwsEnvironment();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78); // EX_CONFIG
}
// ECS sends SIGTERM and waits stopTimeout before SIGKILL: end IDLE, finish in-flight syncs (their events are
// queued before the cursor moves), release the shard leases, log out. The handlers come before the start, which
// can take a while: Node as PID 1 ignores a SIGTERM nobody handles.
const started = startAwsWatcher(env);
stopOnSignals(started);
const watcher = await started;
exitOnUnexpectedErrors(createLogger(env.IDLEHOOK_LOG_LEVEL), () => watcher.stop());
