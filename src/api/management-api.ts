import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../config/load-config.js';
import { errorMessage } from '../domain/errors.js';
import type { ManagementBackend } from '../ports/management.js';
import { problemResponse } from './problem.js';
import { registerAccounts } from './resources/accounts.js';
import { registerConnectLinks } from './resources/connect-links.js';
import { registerDeadLetters } from './resources/dead-letters.js';
import { registerDeliveries } from './resources/deliveries.js';
import { registerMessages } from './resources/messages.js';
import { registerStatus } from './resources/status.js';
import { registerSubscriptions } from './resources/subscriptions.js';
import { openApiDocument } from './routes.js';
import { bearerToken } from './tokens.js';

/** Bodies larger than this are refused before they are parsed (an account document is a few KiB). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The management API (`/v1/...`): accounts, subscriptions, dead letters and attempts, every route behind a
 * bearer token. Requests are validated by the zod schemas the OpenAPI document (`/v1/openapi.json`) is made from,
 * and the account and subscription documents by the config file's own schemas.
 */
export function createManagementApi(
  backend: ManagementBackend,
  options: {
    /**
     * The caller the platform in front has already authenticated, if it did (AWS mode: IAM, by SigV4, at a
     * function URL); such a request needs no token.
     */
    readonly platformCaller?: (c: Context) => string | undefined;
  } = {},
): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      return problemResponse(c, 422, {
        detail: 'the request has invalid fields; see errors',
        errors: result.error.issues.map((issue) => ({
          in: result.target === 'json' ? 'body' : result.target === 'param' ? 'path' : result.target,
          path: issue.path.map(String).join('.') || '(root)',
          message:
            issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
        })),
      });
    },
  });

  // The contract is public (client generators fetch it); every route it describes needs a token.
  const document = openApiDocument();
  app.get('/v1/openapi.json', (c) => c.json(document));

  app.use('*', async (c, next) => {
    // The platform's callers (IAM) are authorized by their own policy, which grants the whole API.
    if (options.platformCaller?.(c) !== undefined) {
      c.set('tokenScope', 'full');
      await next();
      return undefined;
    }
    const token = bearerToken(c.req.header('authorization'));
    const scope = token === undefined ? undefined : await backend.verifyToken(token);
    if (scope === undefined) {
      c.header('www-authenticate', 'Bearer realm="idlehook"');
      return problemResponse(c, 401, {
        detail: 'send a token made with `idlehook tokens create` as "Authorization: Bearer <token>"',
      });
    }
    c.set('tokenScope', scope);
    await next();
    return undefined;
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problemResponse(c, 413, { detail: `bodies are limited to ${MAX_BODY_BYTES} bytes` }),
    }),
  );
  app.onError((error, c) => {
    if (error instanceof ConfigError)
      return problemResponse(c, 422, {
        detail: 'the request has invalid fields; see errors',
        errors: error.problems.map((p) => ({ in: 'body', ...p })),
      });
    if (error instanceof HTTPException)
      return problemResponse(c, error.status === 415 ? 415 : 400, { detail: error.message });
    backend.logger.error('management API request failed', { path: c.req.path, error: errorMessage(error) });
    return problemResponse(c, 500, { detail: 'the request failed inside idlehook; see its log' });
  });
  app.notFound((c) => problemResponse(c, 404, { detail: `no route ${c.req.method} ${c.req.path}` }));

  registerStatus(app, backend);
  registerAccounts(app, backend);
  registerMessages(app, backend);
  registerSubscriptions(app, backend);
  registerDeadLetters(app, backend);
  registerDeliveries(app, backend);
  registerConnectLinks(app, backend);
  return app;
}
