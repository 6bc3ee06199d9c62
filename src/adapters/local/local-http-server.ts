import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PublicListenerConfig } from '../../config/config.js';
import { isLoopbackHostHeader } from '../http/loopback-host.js';

export interface LocalHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

async function listening(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

const closing = (server: Server) => () =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/**
 * Local mode's loopback listener for the HTTP app (status, metrics, blob links, the management API, the dashboard,
 * the connect flow). Never bound beyond 127.0.0.1, and answers only requests addressed to a loopback name: blobs
 * are mail content, and a name that resolves here from elsewhere (DNS rebinding) must not reach them.
 */
export async function startLocalHttpServer(port: number, app: RequestListener): Promise<LocalHttpServer> {
  const server = createServer((request, response) => {
    if (!isLoopbackHostHeader(request.headers.host)) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end('only loopback host names are served\n');
      return;
    }
    app(request, response);
  });
  await listening(server, port, '127.0.0.1');
  const { port: boundPort } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${boundPort}`, close: closing(server) };
}

/**
 * The listener other machines reach (`http.public`), for the HTTP app without the routes that are this machine's
 * alone. HTTPS with the configured certificate, or plain HTTP behind the reverse proxy the operator stated. It
 * answers only requests addressed to its URL's host.
 */
export async function startPublicHttpServer(
  listener: PublicListenerConfig,
  app: RequestListener,
): Promise<LocalHttpServer> {
  const expectedHost = new URL(listener.url).host.toLowerCase();
  const handle: RequestListener = (request, response) => {
    if ((request.headers.host ?? '').toLowerCase() !== expectedHost) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end(`only ${expectedHost} is served here\n`);
      return;
    }
    app(request, response);
  };
  const server = listener.tls
    ? createHttpsServer({ cert: listener.tls.cert, key: listener.tls.key }, handle)
    : createServer(handle);
  await listening(server, listener.port, listener.host);
  return { url: listener.url, close: closing(server) };
}
