import { Hono } from 'hono';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../ports/services.js';
import type { HttpAppRouters, LazyRouter } from './routers.js';
import { serveBlobs } from './routes/blobs.js';
import { serveMetrics } from './routes/metrics.js';
import { serveStatus } from './routes/status.js';

function isDecodable(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false; // malformed percent-encoding, e.g. /%E0%A4%A
  }
}

/**
 * The one HTTP app of both modes: local mode's listeners and the AWS API function mount it with the routers they
 * serve. It holds no listener concerns (ports, TLS, which Host names are answered): those stay with the listener.
 */
export function createHttpApp(routers: HttpAppRouters, logger: Logger): Hono {
  const app = new Hono();
  // The routers answer their own errors; what reaches here is a router that failed to load, or a failed read.
  app.onError((error, c) => {
    logger.error('an HTTP request failed', { path: c.req.path, error: errorMessage(error) });
    return c.body(null, 500);
  });
  app.use('*', async (c, next) => {
    if (!isDecodable(new URL(c.req.url).pathname))
      return c.text('malformed percent-encoding in the path\n', 400);
    await next();
    return undefined;
  });
  const mount = (paths: readonly string[], router: LazyRouter | undefined) => {
    if (!router) return;
    // Bindings (the Lambda event, in AWS mode) are handed on to the router.
    for (const path of paths) app.all(path, async (c) => (await router()).fetch(c.req.raw, c.env));
  };
  mount(['/v1/*'], routers.api);
  mount(['/dashboard', '/dashboard/*'], routers.dashboard);
  mount(['/connect/*'], routers.connect);
  // The address people type first: the dashboard, where there is one.
  if (routers.dashboard) app.get('/', (c) => c.redirect('/dashboard', 302));
  if (routers.status) serveStatus(app, routers.status);
  if (routers.metrics) serveMetrics(app, routers.metrics);
  if (routers.blobs) serveBlobs(app, routers.blobs);
  app.notFound((c) => c.body(null, 404));
  return app;
}
