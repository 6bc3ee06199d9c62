import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { problemResponse } from '../api/problem.js';
import { bearerToken, requireScope } from '../api/tokens.js';
import { accountView, attemptView, deadLetterView, iso, subscriptionView } from '../api/views.js';
import { retryingBySubscription } from '../pipeline/retrying.js';
import type { ManagementBackend } from '../ports/management.js';
import type { DeliveryAttempt } from '../ports/pipeline.js';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './assets.js';
import type { MessageDetails } from './message-details.js';

/** The accounts shown, the first by id (the counts cover all of them; the API pages through the rest). */
const ACCOUNTS_SHOWN = 100;
/** The latest attempts read per subscription, and the latest events shown. */
const ATTEMPTS_PER_SUBSCRIPTION = 100;
const EVENTS_SHOWN = 25;
const DEAD_LETTERS_SHOWN = 200;

/** No inline code, nothing from elsewhere, never in a frame (a replay button must not be clickjacked). */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const replayRequest = z
  .object({ subscriptionId: z.string().min(1), eventId: z.string().min(1).optional() })
  .strict();
const retryNowRequest = z.object({ subscriptionId: z.string().min(1) }).strict();
const loginRequest = z.object({ code: z.string().min(1).max(200) }).strict();

/** Attempts grouped by event and subscription, the latest events first. */
function latestEvents(attempts: readonly DeliveryAttempt[]) {
  const events = new Map<
    string,
    { eventType: string; latest: number; bySubscription: Map<string, DeliveryAttempt[]> }
  >();
  for (const attempt of attempts) {
    const event = events.get(attempt.eventId) ?? {
      eventType: attempt.eventType,
      latest: 0,
      bySubscription: new Map<string, DeliveryAttempt[]>(),
    };
    event.latest = Math.max(event.latest, attempt.attemptedAt);
    const list = event.bySubscription.get(attempt.subscriptionId) ?? [];
    list.push(attempt);
    event.bySubscription.set(attempt.subscriptionId, list);
    events.set(attempt.eventId, event);
  }
  return [...events]
    .sort(([, a], [, b]) => b.latest - a.latest)
    .slice(0, EVENTS_SHOWN)
    .map(([eventId, event]) => ({
      eventId,
      eventType: event.eventType,
      deliveries: [...event.bySubscription].map(([subscriptionId, list]) => {
        const ordered = [...list].sort((a, b) => a.attempt - b.attempt || a.attemptedAt - b.attemptedAt);
        return {
          subscriptionId,
          outcome: ordered.some((a) => a.succeeded) ? 'delivered' : 'failing',
          attempts: ordered.map(attemptView),
        };
      }),
    }));
}

/** The events, each with its message's subject and sender where the operator wants them shown. */
async function withDetails<E extends { readonly eventId: string; readonly eventType: string }>(
  events: readonly E[],
  messageDetails: ((eventId: string) => Promise<MessageDetails | undefined>) | undefined,
): Promise<(E & { readonly message?: MessageDetails })[]> {
  if (!messageDetails) return [...events];
  return Promise.all(
    events.map(async (event) => {
      if (event.eventType !== 'message.received') return event;
      const message = await messageDetails(event.eventId).catch(() => undefined);
      return message ? { ...event, message } : event;
    }),
  );
}

export interface DashboardOptions {
  /** Only where the operator turned on `dashboard.showMessageDetails`. */
  readonly messageDetails?: ((eventId: string) => Promise<MessageDetails | undefined>) | undefined;
  /**
   * `once-any-exists`: local mode, where the page is reached on loopback only and is open, like `/status`, until
   * the first API token is made. `always`: AWS mode, where the page is on the internet.
   */
  readonly tokens: 'once-any-exists' | 'always';
}

/**
 * The dashboard (`/dashboard`): a page that polls `/dashboard/state` and replays dead letters through
 * `/dashboard/replay`. It shows what the management API shows, never a message body; subjects and senders only
 * where the operator turned them on. Its data needs an API token as the API does (see `tokens`). Its POSTs need
 * a custom header and a JSON body, which another site's page cannot send here without a CORS preflight that
 * idlehook never grants.
 */
export function createDashboard(backend: ManagementBackend, options: DashboardOptions): Hono {
  const { messageDetails } = options;
  const app = new Hono();
  app.get('/dashboard', (c) => c.html(DASHBOARD_HTML, 200, PAGE_HEADERS));
  app.get('/dashboard/app.js', (c) =>
    c.body(DASHBOARD_JS, 200, { ...PAGE_HEADERS, 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/dashboard/app.css', (c) =>
    c.body(DASHBOARD_CSS, 200, { ...PAGE_HEADERS, 'content-type': 'text/css; charset=utf-8' }),
  );

  app.use('/dashboard/*', async (c, next) => {
    if (c.req.path === '/dashboard/app.js' || c.req.path === '/dashboard/app.css') return next();
    if (c.req.header('x-idlehook-dashboard') !== '1')
      return problemResponse(c, 403, { detail: 'dashboard requests carry the x-idlehook-dashboard header' });
    // A login link's code is what stands in for a token here: it is checked by the route itself.
    if (c.req.path === '/dashboard/login') return next();
    if (options.tokens === 'always' || (await backend.hasTokens())) {
      const token = bearerToken(c.req.header('authorization'));
      const scope = token === undefined ? undefined : await backend.verifyToken(token);
      if (scope === undefined)
        return problemResponse(c, 401, { detail: 'send an API token as "Authorization: Bearer <token>"' });
      c.set('tokenScope', scope);
    } else {
      // No token exists yet (local mode, loopback only): the dashboard is the operator's own.
      c.set('tokenScope', 'full');
    }
    return next();
  });

  // The page opened from a login link (`idlehook dashboard`) trades the link's one-time code for a token.
  app.post('/dashboard/login', bodyLimit({ maxSize: 1024 }), async (c) => {
    const parsed = loginRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return problemResponse(c, 400, { detail: 'send {"code": "..."} from a login link' });
    const token = await backend.redeemLoginCode(parsed.data.code);
    if (token === undefined)
      return problemResponse(c, 401, {
        detail:
          'that login link was used already or has expired (links last 10 minutes): make another with `idlehook dashboard`',
      });
    return c.json({ token }, 200);
  });

  app.get('/dashboard/state', async (c) => {
    const [accounts, counts, subscriptions, letters, queues, pending] = await Promise.all([
      backend.directory.accountPage({ limit: ACCOUNTS_SHOWN }),
      backend.accountCounts(),
      backend.directory.listSubscriptions(),
      backend.deadLetterPage({ limit: DEAD_LETTERS_SHOWN, filter: {}, newestFirst: true }),
      backend.queueDepths(),
      backend.retries.pending(),
    ]);
    const attempts = await Promise.all(
      subscriptions.map((s) => backend.attempts.listAttempts(s.value.id, ATTEMPTS_PER_SUBSCRIPTION)),
    );
    const statuses = await backend.accountStatusesOf(accounts.data.map((a) => a.value.id));
    const retrying = retryingBySubscription(pending);
    return c.json(
      {
        generatedAt: iso(backend.clock.now()),
        queues,
        accountCounts: counts,
        accounts: accounts.data.map((a) => accountView(backend, a, statuses.get(a.value.id))),
        subscriptions: await Promise.all(
          subscriptions.map(async (s) => {
            const waiting = retrying.get(s.value.id);
            return {
              ...(await subscriptionView(backend, s)),
              retrying: {
                count: waiting?.count ?? 0,
                nextAttemptAt: waiting ? iso(waiting.nextAttemptAt) : null,
              },
            };
          }),
        ),
        events: await withDetails(latestEvents(attempts.flat()), messageDetails),
        deadLetters: letters.letters.map(deadLetterView),
      },
      200,
      { 'cache-control': 'no-store' },
    );
  });

  app.post(
    '/dashboard/retry-now',
    requireScope('full'),
    bodyLimit({ maxSize: 4096, onError: (c) => problemResponse(c, 413, { detail: 'too large' }) }),
    async (c) => {
      const parsed = retryNowRequest.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) return problemResponse(c, 422, { detail: 'expected { "subscriptionId" }' });
      return c.json({ retried: await backend.retries.retryNow(parsed.data.subscriptionId) }, 200);
    },
  );

  app.post(
    '/dashboard/replay',
    requireScope('full'),
    bodyLimit({ maxSize: 4096, onError: (c) => problemResponse(c, 413, { detail: 'too large' }) }),
    async (c) => {
      if (!c.req.header('content-type')?.startsWith('application/json'))
        return problemResponse(c, 415, { detail: 'send application/json' });
      const parsed = replayRequest.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success)
        return problemResponse(c, 422, { detail: 'expected { "subscriptionId", "eventId"? }' });
      const results = await backend.replay(parsed.data);
      const delivered = results.filter((r) => r.delivered).length;
      return c.json({ delivered, failed: results.length - delivered }, 200);
    },
  );
  return app;
}
