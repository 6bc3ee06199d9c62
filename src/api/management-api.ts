import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { ConfigError, parseAccountDocument, parseSubscriptionDocument } from '../config/load-config.js';
import type { DoctorReport } from '../domain/doctor-report.js';
import { errorMessage } from '../domain/errors.js';
import { paginate } from '../domain/pages.js';
import { newWebhookSecret } from '../domain/signing.js';
import { deadLetterMatches } from '../pipeline/replay.js';
import type { ManagementBackend } from '../ports/management.js';
import type { DeadLetterFilter, DeadLetterSummary } from '../ports/pipeline.js';
import { unconfirmedDestinationChange } from './credential-destination.js';
import { problemResponse } from './problem.js';
import {
  createAccountRoute,
  createConnectLinkRoute,
  createSubscriptionRoute,
  deleteAccountRoute,
  deleteSubscriptionRoute,
  enableSubscriptionRoute,
  getAccountRoute,
  getSubscriptionRoute,
  listAccountsRoute,
  listAttemptsRoute,
  listDeadLettersRoute,
  listPendingRoute,
  listSubscriptionsRoute,
  openApiDocument,
  replayRoute,
  retryNowRoute,
  rotateSecretRoute,
  statusRoute,
  updateAccountRoute,
  updateSubscriptionRoute,
} from './routes.js';
import { bearerToken } from './tokens.js';
import { accountView, attemptView, deadLetterView, iso, subscriptionView } from './views.js';

/** Bodies larger than this are refused before they are parsed (an account document is a few KiB). */
const MAX_BODY_BYTES = 64 * 1024;

function deadLetterKey(letter: DeadLetterSummary): string {
  return `${String(letter.failedAt).padStart(15, '0')} ${letter.eventId} ${letter.subscriptionId}`;
}

/** A failed doctor walk, with its report: each step, and what to fix. */
function doctorProblem(c: Context, report: DoctorReport) {
  return problemResponse(c, 422, {
    title: 'The account does not work',
    detail: report.steps.find((s) => !s.ok)?.summary ?? 'a check failed',
    doctor: report,
  });
}

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

  const notFound = (c: Context, what: string) => problemResponse(c, 404, { detail: `no ${what}` });
  const readOnly = (c: Context, what: string) =>
    problemResponse(c, 409, {
      title: 'Defined in the config file',
      detail: `${what} is defined in the config file: change it there`,
    });

  app.openapi(statusRoute, async (c) => {
    const [accounts, statuses] = await Promise.all([
      backend.directory.listAccounts(),
      backend.accountStatuses(),
    ]);
    const failing = accounts.filter((a) => statuses.get(a.value.id)?.status.state === 'error').length;
    return c.json(
      { accounts: { total: accounts.length, failing }, queues: await backend.queueDepths() },
      200,
    );
  });

  // One page read from the store and the status of its accounts only: never every account, never a credential.
  app.openapi(listAccountsRoute, async (c) => {
    const { data, nextCursor } = await backend.directory.accountPage(c.req.valid('query'));
    const statuses = await backend.accountStatusesOf(data.map((a) => a.value.id));
    return c.json(
      { data: data.map((a) => accountView(backend, a, statuses.get(a.value.id))), nextCursor },
      200,
    );
  });

  app.openapi(createAccountRoute, async (c) => {
    const document: unknown = await c.req.json();
    const account = parseAccountDocument(document, 'the request body');
    if (await backend.directory.account(account.id))
      return problemResponse(c, 409, { detail: `an account with id "${account.id}" exists` });
    if (c.req.valid('query').check === 'true') {
      const report = await backend.checkAccount(account);
      if (!report.ok) return doctorProblem(c, report);
    }
    if (!(await backend.directory.addAccount(document, account)))
      return problemResponse(c, 409, { detail: `an account with id "${account.id}" exists` });
    await backend.accountsChanged();
    return c.json(accountView(backend, { value: account, origin: 'api' }, undefined), 201);
  });

  app.openapi(getAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const account = await backend.directory.account(id);
    return account
      ? c.json(accountView(backend, account, await backend.accountStatus(id)), 200)
      : notFound(c, `account "${id}"`);
  });

  app.openapi(deleteAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await backend.directory.removeAccount(id);
    if (outcome === 'not-found') return notFound(c, `account "${id}"`);
    if (outcome === 'read-only') return readOnly(c, `account "${id}"`);
    await backend.accountsChanged();
    return c.body(null, 204);
  });

  app.openapi(listSubscriptionsRoute, async (c) => {
    const listed = await backend.directory.listSubscriptions();
    const { data, nextCursor } = paginate(listed, (s) => s.value.id, c.req.valid('query'));
    return c.json(
      { data: await Promise.all(data.map((s) => subscriptionView(backend, s))), nextCursor },
      200,
    );
  });

  app.openapi(createSubscriptionRoute, async (c) => {
    const given = (await c.req.json()) as Record<string, unknown>;
    const secret = typeof given.secret === 'string' ? undefined : newWebhookSecret();
    const document = secret === undefined ? given : { ...given, secret };
    const subscription = parseSubscriptionDocument(
      document,
      'the request body',
      await backend.directory.accountIds(),
    );
    if (!(await backend.directory.addSubscription(document, subscription)))
      return problemResponse(c, 409, { detail: `a subscription with id "${subscription.id}" exists` });
    return c.json(
      {
        ...(await subscriptionView(backend, { value: subscription, origin: 'api' })),
        ...(secret ? { secret } : {}),
      },
      201,
    );
  });

  app.openapi(getSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const subscription = await backend.directory.subscription(id);
    return subscription
      ? c.json(await subscriptionView(backend, subscription), 200)
      : notFound(c, `subscription "${id}"`);
  });

  app.openapi(deleteSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await backend.directory.removeSubscription(id);
    if (outcome === 'not-found') return notFound(c, `subscription "${id}"`);
    if (outcome === 'read-only') return readOnly(c, `subscription "${id}"`);
    return c.body(null, 204);
  });

  /** The stored document of an API-made item, or the answer why there is none to change. */
  const changeable = async (c: Context, kind: 'account' | 'subscription', id: string) => {
    const { directory } = backend;
    const what = `${kind} "${id}"`;
    const exists = kind === 'account' ? await directory.account(id) : await directory.subscription(id);
    if (!exists) return { answer: notFound(c, what) };
    const document =
      kind === 'account' ? await directory.accountDocument(id) : await directory.subscriptionDocument(id);
    if (typeof document !== 'object' || document === null) return { answer: readOnly(c, what) };
    return { document: document as Record<string, unknown> };
  };
  /** The stored document with the fields of the request body over it (a field sent replaces the stored one). */
  const patched = async (c: Context, document: Record<string, unknown>, id: string) => ({
    ...document,
    ...((await c.req.json()) as Record<string, unknown>),
    id,
  });

  app.openapi(updateAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { document, answer } = await changeable(c, 'account', id);
    if (!document) return answer;
    const unconfirmed = unconfirmedDestinationChange(
      document,
      (await c.req.json()) as Record<string, unknown>,
    );
    if (unconfirmed)
      return problemResponse(c, 422, {
        detail: 'the change would send the stored credentials to a new destination; see errors',
        errors: [{ in: 'body', ...unconfirmed }],
      });
    const changed = await patched(c, document, id);
    const account = parseAccountDocument(changed, 'the request body');
    if (c.req.valid('query').check === 'true') {
      const report = await backend.checkAccount(account);
      if (!report.ok) return doctorProblem(c, report);
    }
    if (!(await backend.directory.replaceAccount(changed, account))) return notFound(c, `account "${id}"`);
    await backend.accountsChanged();
    return c.json(
      accountView(backend, { value: account, origin: 'api' }, await backend.accountStatus(id)),
      200,
    );
  });

  app.openapi(updateSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { document, answer } = await changeable(c, 'subscription', id);
    if (!document) return answer;
    const changed = await patched(c, document, id);
    const subscription = parseSubscriptionDocument(
      changed,
      'the request body',
      await backend.directory.accountIds(),
    );
    if (!(await backend.directory.replaceSubscription(changed, subscription)))
      return notFound(c, `subscription "${id}"`);
    return c.json(await subscriptionView(backend, { value: subscription, origin: 'api' }), 200);
  });

  app.openapi(rotateSecretRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { document, answer } = await changeable(c, 'subscription', id);
    if (!document) return answer;
    const given = (await c.req.json()) as { secret?: unknown };
    const made = typeof given.secret === 'string' ? undefined : newWebhookSecret();
    const previousSecretExpiresAt = iso(
      backend.clock.now() + c.req.valid('json').previousSecretValidSeconds * 1000,
    );
    const changed = {
      ...document,
      secret: made ?? given.secret,
      previousSecret: document.secret,
      previousSecretExpiresAt,
    };
    const subscription = parseSubscriptionDocument(
      changed,
      'the stored subscription',
      await backend.directory.accountIds(),
    );
    if (!(await backend.directory.replaceSubscription(changed, subscription)))
      return notFound(c, `subscription "${id}"`);
    return c.json({ ...(made ? { secret: made } : {}), previousSecretExpiresAt }, 200);
  });

  app.openapi(enableSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.subscription(id))) return notFound(c, `subscription "${id}"`);
    await backend.subscriptionStatus.enable(id);
    return c.body(null, 204);
  });

  app.openapi(listAttemptsRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.subscription(id))) return notFound(c, `subscription "${id}"`);
    const attempts = await backend.attempts.listAttempts(id, c.req.valid('query').limit);
    return c.json(
      {
        data: attempts.map(attemptView),
      },
      200,
    );
  });

  const filterOf = (query: {
    subscription?: string | undefined;
    event?: string | undefined;
    since?: string | undefined;
    until?: string | undefined;
  }): DeadLetterFilter => ({
    ...(query.subscription ? { subscriptionId: query.subscription } : {}),
    ...(query.event ? { eventId: query.event } : {}),
    ...(query.since ? { since: Date.parse(query.since) } : {}),
    ...(query.until ? { until: Date.parse(query.until) } : {}),
  });
  app.openapi(listDeadLettersRoute, async (c) => {
    const query = c.req.valid('query');
    const letters = (await backend.listDeadLetters())
      .filter(deadLetterMatches(filterOf(query)))
      .sort((a, b) => (deadLetterKey(a) < deadLetterKey(b) ? -1 : 1));
    const { data, nextCursor } = paginate(letters, deadLetterKey, query);
    return c.json(
      {
        data: data.map(deadLetterView),
        nextCursor,
      },
      200,
    );
  });

  app.openapi(replayRoute, async (c) => {
    const results = await backend.replay(filterOf(c.req.valid('json')));
    const delivered = results.filter((r) => r.delivered).length;
    return c.json(
      {
        delivered,
        failed: results.length - delivered,
        results: results.map((r) => ({
          eventId: r.letter.eventId,
          subscriptionId: r.letter.subscriptionId,
          delivered: r.delivered,
          detail: r.detail,
        })),
      },
      200,
    );
  });

  app.openapi(listPendingRoute, async (c) => {
    const { subscription } = c.req.valid('query');
    const pending = (await backend.retries.pending()).filter(
      (p) => subscription === undefined || p.subscriptionId === subscription,
    );
    return c.json({ data: pending.map((p) => ({ ...p, nextAttemptAt: iso(p.nextAttemptAt) })) }, 200);
  });

  app.openapi(retryNowRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.subscription(id))) return notFound(c, `subscription "${id}"`);
    return c.json({ retried: await backend.retries.retryNow(id) }, 200);
  });

  app.openapi(createConnectLinkRoute, async (c) => {
    if (!backend.connectLink)
      return problemResponse(c, 404, {
        detail:
          'the connect flow is not configured: add connect.providers to the config (AWS mode: managementApi.connect)',
      });
    const link = backend.connectLink(c.req.valid('json'), c.req.url);
    return c.json({ url: link.url, expiresAt: iso(link.expiresAt) }, 201);
  });

  return app;
}
