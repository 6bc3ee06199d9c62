import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PublicListenerConfig } from '../../config/config.js';
import { isLoopbackHostHeader } from '../http/loopback-host.js';
import type { SqliteBlobStore } from './sqlite-blob-store.js';

export interface LocalHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

function decodedPath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined; // malformed percent-encoding, e.g. /%E0%A4%A
  }
}

/**
 * Loopback-only HTTP for local mode: `GET /status`, `GET /metrics`, `GET /blobs/<key>` (raw messages and attachments, the
 * URLs in events) the management API under `/v1/` and the dashboard under `/dashboard`. Never bound beyond 127.0.0.1, and answers only requests addressed to a loopback name: blobs
 * are mail content.
 */
export async function startLocalHttpServer(
  port: number,
  routes: {
    readonly status: () => unknown;
    readonly blobs: Pick<SqliteBlobStore, 'read'>;
    /** The management API, under /v1/ (it authenticates every request itself). */
    readonly api?: RequestListener;
    /** The dashboard page and its data, under /dashboard (it applies the API's tokens itself). */
    readonly dashboard?: RequestListener;
    /** The hosted OAuth2 connect flow, under /connect/ (its links are signed; see connect/connect-routes.ts). */
    readonly connect?: RequestListener;
    /** GET /metrics: Prometheus' text format. */
    readonly metrics?: () => Promise<{ readonly contentType: string; readonly body: string }>;
  },
): Promise<LocalHttpServer> {
  const server: Server = createServer((request, response) => {
    if (!isLoopbackHostHeader(request.headers.host)) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end('only loopback host names are served\n');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = decodedPath(url.pathname);
    if (path === undefined) {
      response
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('malformed percent-encoding in the path\n');
      return;
    }
    if (routes.api && path.startsWith('/v1/')) {
      routes.api(request, response);
      return;
    }
    if (routes.dashboard && (path === '/dashboard' || path.startsWith('/dashboard/'))) {
      routes.dashboard(request, response);
      return;
    }
    if (routes.connect && path.startsWith('/connect/')) {
      routes.connect(request, response);
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    // The address people type first: the dashboard, where there is one.
    if (path === '/' && routes.dashboard) {
      response.writeHead(302, { location: '/dashboard' }).end();
      return;
    }
    if (path === '/status') {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(routes.status(), null, 2));
      return;
    }
    if (path === '/metrics' && routes.metrics) {
      routes.metrics().then(
        ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
        () => response.writeHead(500).end(),
      );
      return;
    }
    if (path.startsWith('/blobs/')) {
      serveBlob(routes.blobs, path, url, response);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A signed blob link: the raw message or an attachment; an unsigned or expired link is a 404 like a missing one. */
function serveBlob(
  blobs: Pick<SqliteBlobStore, 'read'>,
  path: string,
  url: URL,
  response: ServerResponse,
): void {
  const key = path.slice('/blobs/'.length);
  blobs.read(key, url.searchParams.get('signature') ?? '').then(
    (content) => {
      if (!content) response.writeHead(404).end();
      else {
        const type = key.startsWith('raw/') ? 'message/rfc822' : 'application/octet-stream';
        response.writeHead(200, { 'content-type': type, 'content-length': content.length }).end(content);
      }
    },
    () => response.writeHead(500).end(),
  );
}

/**
 * The listener other machines reach (`http.public`): the management API (`/v1/`, behind its tokens), the
 * connect flow (`/connect/`, behind signed links) and the signed blob links in events (`/blobs/`), so that a
 * receiver on another machine can fetch a message or an attachment; never `/status`, `/metrics` or the dashboard.
 * HTTPS with the configured certificate, or plain HTTP behind the reverse proxy the operator stated. It answers
 * only requests addressed to its URL's host.
 */
export async function startPublicHttpServer(
  listener: PublicListenerConfig,
  routes: {
    readonly api: RequestListener;
    readonly connect?: RequestListener;
    readonly blobs: Pick<SqliteBlobStore, 'read'>;
  },
): Promise<LocalHttpServer> {
  const expectedHost = new URL(listener.url).host.toLowerCase();
  const handle: RequestListener = (request, response) => {
    if ((request.headers.host ?? '').toLowerCase() !== expectedHost) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end(`only ${expectedHost} is served here\n`);
      return;
    }
    const url = new URL(request.url ?? '/', 'http://x');
    const path = decodedPath(url.pathname);
    if (path?.startsWith('/v1/')) routes.api(request, response);
    else if (path?.startsWith('/connect/') && routes.connect) routes.connect(request, response);
    else if (path?.startsWith('/blobs/') && request.method === 'GET')
      serveBlob(routes.blobs, path, url, response);
    else response.writeHead(404).end();
  };
  const server = listener.tls
    ? createHttpsServer({ cert: listener.tls.cert, key: listener.tls.key }, handle)
    : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listener.port, listener.host, () => resolve());
  });
  return {
    url: listener.url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
