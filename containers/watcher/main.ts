// The Fargate task's entry point: configuration from the environment, then the watcher until SIGTERM.

import { createLogger } from '../../src/adapters/powertools-logger.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { ConfigError } from '../../src/config/load-config.js';
import { startAwsWatcher } from '../../src/runtime/aws-watcher.js';
import { exitOnUnexpectedErrors } from '../../src/runtime/unexpected-errors.js';

let env: AwsEnvironment;
try {
  env = loadAwsEnvironment();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78); // EX_CONFIG
}
const watcher = await startAwsWatcher(env);
exitOnUnexpectedErrors(createLogger(env.IDLEHOOK_LOG_LEVEL), () => watcher.stop());

// ECS sends SIGTERM and waits stopTimeout (30 s by default) before SIGKILL: end IDLE, finish in-flight syncs
// (their events are queued before the cursor moves), log out.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    watcher.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
