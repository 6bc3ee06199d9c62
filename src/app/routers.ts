// Kept apart from http-app.ts, which loads Hono: a composition root names its routers without loading it.

/** What a router mounted here answers with: a Hono app, or anything with its `fetch`. */
export interface FetchApp {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** A router built at its first request, so that what nobody opens is never loaded. */
export type LazyRouter = () => Promise<FetchApp>;

/** The resources one listener serves; the ones left out are 404s (the public listener has no status or dashboard). */
export interface HttpAppRouters {
  /** The management API, under /v1/ (it authenticates every request itself). */
  readonly api?: LazyRouter;
  /** The dashboard page and its data, under /dashboard (it applies the API's tokens itself). */
  readonly dashboard?: LazyRouter;
  /** The hosted OAuth2 connect flow, under /connect/ (its links are signed; see connect/connect-routes.ts). */
  readonly connect?: LazyRouter;
  /** GET /status: the bridge's own view of its accounts and queues. */
  readonly status?: () => unknown;
  /** GET /metrics: Prometheus' text format. */
  readonly metrics?: () => Promise<{ readonly contentType: string; readonly body: string }>;
  /** GET /blobs/<key>: the signed links in events (raw messages and attachments). */
  readonly blobs?: { read(key: string, signature: string): Promise<Buffer | undefined> };
}
