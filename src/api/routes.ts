import { OpenAPIHono } from '@hono/zod-openapi';
import { EVENT_SCHEMAS, EVENT_TYPES } from '../domain/event-schemas.js';
import {
  createAccountRoute,
  deleteAccountRoute,
  getAccountRoute,
  listAccountsRoute,
  updateAccountRoute,
} from './resources/accounts.js';
import { createConnectLinkRoute } from './resources/connect-links.js';
import { listDeadLettersRoute, replayRoute } from './resources/dead-letters.js';
import { listPendingRoute } from './resources/deliveries.js';
import { getMessageRoute, listActionsRoute, messageActionRoute } from './resources/messages.js';
import { statusRoute } from './resources/status.js';
import {
  createSubscriptionRoute,
  deleteSubscriptionRoute,
  enableSubscriptionRoute,
  getSubscriptionRoute,
  listAttemptsRoute,
  listSubscriptionsRoute,
  retryNowRoute,
  rotateSecretRoute,
  updateSubscriptionRoute,
} from './resources/subscriptions.js';

/** Every route of the management API, in the order the OpenAPI document lists them. */
export const ROUTES = [
  statusRoute,
  listAccountsRoute,
  createAccountRoute,
  getAccountRoute,
  deleteAccountRoute,
  getMessageRoute,
  messageActionRoute,
  listActionsRoute,
  listSubscriptionsRoute,
  createSubscriptionRoute,
  getSubscriptionRoute,
  deleteSubscriptionRoute,
  updateAccountRoute,
  updateSubscriptionRoute,
  rotateSecretRoute,
  enableSubscriptionRoute,
  listAttemptsRoute,
  listDeadLettersRoute,
  replayRoute,
  listPendingRoute,
  retryNowRoute,
  createConnectLinkRoute,
];

/** The OpenAPI 3.1 document of the routes: served at /v1/openapi.json, kept in schemas/ (`npm run schemas`). */
export function openApiDocument(): unknown {
  const documented = new OpenAPIHono();
  const registry = documented.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'a token made with `idlehook tokens create`',
  });
  for (const route of ROUTES) registry.registerPath(route);
  // What idlehook sends to subscriptions, from the same schemas as schemas/<type>.schema.json: client generators
  // and documentation tools show the events beside the routes.
  for (const type of EVENT_TYPES)
    registry.registerWebhook({
      method: 'post',
      path: type,
      operationId: `on${type.replace(/(^|[._])(\w)/g, (_, _separator: string, letter: string) => letter.toUpperCase())}`,
      summary: `The ${type} event, signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature)`,
      request: {
        body: { content: { 'application/json': { schema: EVENT_SCHEMAS[type] } }, required: true }, // trusted key: an event type, from EVENT_TYPES
      },
      responses: {
        200: { description: 'any 2xx: delivered' },
        410: { description: 'the endpoint is gone: the subscription is disabled' },
      },
    });
  return documented.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'idlehook management API',
      version: '1',
      description:
        'Accounts, subscriptions and dead letters of an idlehook bridge. Every route needs a bearer token; this document does not. `webhooks` lists the events idlehook sends to subscriptions.',
    },
    security: [{ bearer: [] }],
  });
}
