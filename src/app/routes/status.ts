import type { Hono } from 'hono';
import { getOnly } from './get-only.js';

/** GET /status: the bridge's own view of its accounts, queues and retrying subscriptions, as indented JSON. */
export function serveStatus(app: Hono, status: () => unknown): void {
  getOnly(app, '/status', (c) =>
    c.body(JSON.stringify(status(), null, 2), 200, { 'content-type': 'application/json' }),
  );
}
