import type { RequestListener } from 'node:http';
import { buildOnce } from '../../domain/build-once.js';

/** Anything that answers a fetch Request: a Hono app. */
interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

/**
 * Node's request listener for a fetch app that is loaded with the first request: a bridge whose HTTP nobody opens
 * keeps Hono and the OpenAPI schemas out of its memory (issue 11's idle figure). A failed load answers 500 and is
 * tried again at the next request.
 */
export function lazyFetchListener(
  load: () => Promise<FetchApp>,
  onLoadFailure: (error: unknown) => void,
): RequestListener {
  const listener = buildOnce(() =>
    Promise.all([import('@hono/node-server'), load()]).then(([{ getRequestListener }, app]) =>
      getRequestListener((req) => app.fetch(req)),
    ),
  );
  return (request, response) => {
    listener().then(
      (answer) => answer(request, response),
      (error: unknown) => {
        onLoadFailure(error);
        response.writeHead(500).end();
      },
    );
  };
}
