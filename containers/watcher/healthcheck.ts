// The container health check (Dockerfile HEALTHCHECK and the task definition): exit 0 while /health answers 200.
import { DEFAULT_HEALTH_PORT } from '../../src/config/aws-environment.js';

// A bundle of its own, so a check every 30 seconds does not load the watcher.

const port = process.env.IDLEHOOK_HEALTH_PORT ?? String(DEFAULT_HEALTH_PORT);
fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
