import { z } from 'zod';
import { compileEventFilter } from '../domain/event-filter.js';
import { EVENT_TYPES } from '../domain/event-schemas.js';
import { SETTABLE_FLAG } from '../domain/message-actions.js';
import { ownValue } from '../domain/null-prototype.js';
import type { AccountConfig } from './config.js';
import { PROVIDER_NAMES, PROVIDERS, type ProviderPreset } from './providers.js';

/**
 * What a user says about an account or a subscription, apart from secrets: the config file (local mode) and the
 * CLI's `accounts add` / `subscriptions add` (AWS mode) parse these same fields, and fill defaults the same way.
 */

export const identifier = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export const accountFields = {
  id: identifier,
  /** Fills host, port, security, the connection limit and the OAuth2 token endpoint. */
  provider: z.enum(PROVIDER_NAMES).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  security: z.enum(['tls', 'starttls', 'none']).default('tls'),
  user: z.string().min(1),
  mailboxes: z
    .array(z.string().min(1))
    .min(1)
    .refine((list) => new Set(list).size === list.length, 'lists a mailbox twice')
    .default(['INBOX']),
  initialSync: z.enum(['new', 'all']).default('new'),
};

export const oauth2Fields = {
  tokenUrl: z.url({ protocol: /^https?$/ }).optional(),
  clientId: z.string().min(1),
  scope: z.string().min(1).optional(),
};

const settableFlags = z
  .array(
    z
      .string()
      .regex(SETTABLE_FLAG, 'a system flag other than \\Recent, or a keyword (no spaces or specials)'),
  )
  .min(1)
  .max(20);
const folderPath = z
  .string()
  .min(1)
  .max(1000)
  .regex(/^[^\r\n\0]+$/, 'a folder path, as the events name folders');

/** An action on a message (the management API's, a subscription's `afterDelivery`), with `extra` fields. */
export function messageActionSchema<Extra extends z.ZodRawShape>(extra: Extra) {
  return z.discriminatedUnion('type', [
    z.object({ type: z.literal('mark-seen'), ...extra }).strict(),
    z.object({ type: z.literal('add-flags'), flags: settableFlags, ...extra }).strict(),
    z.object({ type: z.literal('remove-flags'), flags: settableFlags, ...extra }).strict(),
    z.object({ type: z.literal('move'), to: folderPath.describe('made when missing'), ...extra }).strict(),
    z.object({ type: z.literal('delete'), ...extra }).strict(),
  ]);
}

export const subscriptionFields = {
  id: identifier,
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  events: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
  accounts: z.array(identifier).min(1).optional(),
  rateLimitPerSecond: z.number().positive().max(10_000).optional(),
  filter: z
    .unknown()
    .transform((pattern, context) => {
      const compiled = compileEventFilter(pattern);
      if ('ok' in compiled) return compiled.ok;
      for (const problem of compiled.problems)
        context.addIssue({ code: 'custom', path: [...problem.path], message: problem.message });
      return z.NEVER;
    })
    .optional()
    .meta({
      type: 'object',
      description:
        'an Amazon EventBridge event pattern the event must match, plus a linear-time `regex` operator (docs/filters.md)',
      example: { data: { from: { address: [{ suffix: '@customer.example' }] } } },
    }),
  afterDelivery: z
    .array(messageActionSchema({}))
    .min(1)
    .max(10)
    .optional()
    .describe(
      'actions on the message once this endpoint answered 2xx to its message.received: flag actions of every subscription that asked, then one move or delete, once each of them has its 2xx',
    ),
};

type AccountFields = z.output<z.ZodObject<typeof accountFields>>;

/** An account without its credentials, defaults filled in. */
export type AccountSettings = Omit<AccountConfig, 'auth'>;

export function presetOf(provider: string | undefined): ProviderPreset | undefined {
  return provider === undefined ? undefined : ownValue<ProviderPreset>(PROVIDERS, provider);
}

/**
 * Fills what the provider preset and the security imply: host, port (993 for TLS, 143 otherwise) and the
 * connection limit. The host is validated as present by the caller (config cross-checks, CLI schema).
 */
export function accountSettings(
  fields: AccountFields & { readonly tls?: AccountSettings['tls']; readonly connectionLimit?: number },
): AccountSettings {
  const preset = presetOf(fields.provider);
  return {
    id: fields.id,
    host: fields.host ?? preset?.host ?? '',
    port: fields.port ?? preset?.port ?? (fields.security === 'tls' ? 993 : 143),
    security: fields.security,
    user: fields.user,
    connectionLimit: fields.connectionLimit ?? preset?.connectionLimit,
    tls: fields.tls ?? { ca: undefined, servername: undefined },
    mailboxes: fields.mailboxes,
    initialSync: fields.initialSync,
  };
}

/** The token endpoint an OAuth2 account uses: its own, or its provider's. */
export function oauth2TokenUrl(
  provider: string | undefined,
  tokenUrl: string | undefined,
): string | undefined {
  return tokenUrl ?? presetOf(provider)?.tokenUrl;
}
