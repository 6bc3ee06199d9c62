import type { Handler, Hono } from 'hono';

/** A read-only route: GET (and HEAD) answered, any other method a 405 naming GET. */
export function getOnly(app: Hono, path: string, handler: Handler): void {
  app.get(path, handler);
  app.all(path, (c) => c.body(null, 405, { allow: 'GET' }));
}
