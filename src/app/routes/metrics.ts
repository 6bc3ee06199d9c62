import type { Hono } from 'hono';
import { getOnly } from './get-only.js';

/** GET /metrics: Prometheus' text format. */
export function serveMetrics(
  app: Hono,
  metrics: () => Promise<{ readonly contentType: string; readonly body: string }>,
): void {
  getOnly(app, '/metrics', async (c) => {
    const { contentType, body } = await metrics();
    return c.body(body, 200, { 'content-type': contentType });
  });
}
