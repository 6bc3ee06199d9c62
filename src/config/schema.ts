import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../domain/errors.js';
import { CIDR_MESSAGE, isCidr } from '../domain/networks.js';
import { ownValue } from '../domain/null-prototype.js';
import { DEFAULT_OVERLOAD_FLOOR_SECONDS, DEFAULT_RETRY_SCHEDULE_SECONDS } from '../domain/retry.js';
import { decodeWebhookSecret } from '../domain/signing.js';
import { accountFields, oauth2Fields, subscriptionFields } from './account-settings.js';
import { DEFAULT_LOGIN_LIMITS, DEFAULT_RECONNECT_POLICY } from './config.js';

/** What resolving a config needs from outside: where relative paths start, and the environment. */
export interface ConfigContext {
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

const seconds = z.number().positive();

/**
 * The config file's schema. Secrets and files are resolved inside it, so that one parse reports every bad
 * field at once, the unreadable ones included. Error messages never contain a secret's value.
 */
export function configFileSchema(context: ConfigContext) {
  const resolvePath = (path: string) => (isAbsolute(path) ? path : resolve(context.baseDir, path));
  const readFile = (path: string, ctx: z.RefinementCtx, issuePath: string[] = []): string | undefined => {
    const resolved = resolvePath(path);
    try {
      return readFileSync(resolved, 'utf8');
    } catch (error) {
      const relative = resolved === path ? '' : ` ("${path}" is taken relative to the config file's folder)`;
      ctx.addIssue({
        code: 'custom',
        path: issuePath,
        message: `cannot read ${resolved}${relative}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      });
      return undefined;
    }
  };

  /** A secret is written inline, or taken from an environment variable or a file. */
  const secret = z
    .union(
      [
        z.string().min(1),
        z.object({ env: z.string().min(1) }).strict(),
        z.object({ file: z.string().min(1) }).strict(),
      ],
      { error: 'expected a string, { "env": NAME } or { "file": PATH }' },
    )
    .transform((reference, ctx): string => {
      if (typeof reference === 'string') return reference;
      if ('env' in reference) {
        const value = ownValue(context.env, reference.env);
        if (value) return value;
        ctx.addIssue({
          code: 'custom',
          path: ['env'],
          message: `environment variable ${reference.env} is not set`,
        });
        return z.NEVER;
      }
      return readFile(reference.file, ctx, ['file'])?.trim() ?? z.NEVER;
    });

  const files: SecretFields = {
    secret,
    webhookSecret: webhookSecretOf(secret),
    caCertificate: z
      .string()
      .min(1)
      .transform((path, ctx) => readFile(path, ctx) ?? z.NEVER),
  };
  const account = accountSchema(files);
  const subscription = subscriptionSchema(files);

  /**
   * A second listener for the management API and the connect flow, reachable from other machines: only with TLS
   * here, or behind a reverse proxy the operator states (which ends TLS). Its `url` is how clients reach it.
   */
  const publicListener = z
    .object({
      url: z.url({
        protocol: /^https$/,
        error: 'must be an https:// URL: the API carries tokens and secrets',
      }),
      /** Every interface with TLS here; loopback behind a proxy (plain HTTP must not leave the machine). */
      host: z.string().min(1).optional(),
      port: z.number().int().min(0).max(65535),
      tls: z
        .object({
          cert: z
            .string()
            .min(1)
            .transform((path, ctx) => readFile(path, ctx) ?? z.NEVER),
          key: z
            .string()
            .min(1)
            .transform((path, ctx) => readFile(path, ctx) ?? z.NEVER),
        })
        .strict()
        .optional(),
      behindProxy: z.boolean().default(false),
    })
    .strict()
    .superRefine((listener, ctx) => {
      if (!listener.tls === !listener.behindProxy)
        ctx.addIssue({
          code: 'custom',
          path: ['tls'],
          message: listener.tls
            ? 'give either tls or "behindProxy": true, not both'
            : 'needs tls (cert and key files), or "behindProxy": true where a reverse proxy ends TLS',
        });
    });

  const deliveryDefaults = {
    timeoutSeconds: 15,
    retryScheduleSeconds: [...DEFAULT_RETRY_SCHEDULE_SECONDS],
    concurrency: 32,
    allowedNetworks: [],
    disableAfterFailingSeconds: 5 * 86_400,
    overloadFloorSeconds: DEFAULT_OVERLOAD_FLOOR_SECONDS,
  };

  const imapDefaults = {
    checkIntervalSeconds: 60,
    maxConcurrentLogins: DEFAULT_LOGIN_LIMITS.maxConcurrent,
    loginsPerSecond: DEFAULT_LOGIN_LIMITS.perSecond,
  };

  return z
    .object({
      /** A `NAME=value` file (as `idlehook init` writes) whose variables `{ "env": NAME }` secrets may name. */
      envFile: z.string().min(1).optional(),
      dataDir: z.string().min(1).default('.idlehook').transform(resolvePath),
      logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      http: z
        .object({ port: z.number().int().min(0).max(65535).default(7465), public: publicListener.optional() })
        .strict()
        .default({ port: 7465 }),
      delivery: z
        .object({
          timeoutSeconds: seconds.max(60).default(deliveryDefaults.timeoutSeconds),
          retryScheduleSeconds: z.array(seconds).max(20).default(deliveryDefaults.retryScheduleSeconds),
          concurrency: z.number().int().min(1).max(256).default(deliveryDefaults.concurrency),
          /** Defaults to on where the API listens for other machines (http.public), off otherwise (toConfig). */
          blockInternalAddresses: z.boolean().optional(),
          allowedNetworks: z.array(z.string().refine(isCidr, CIDR_MESSAGE)).default([]),
          disableAfterFailingSeconds: seconds.default(deliveryDefaults.disableAfterFailingSeconds),
          overloadFloorSeconds: seconds.default(deliveryDefaults.overloadFloorSeconds),
          /** Defaults to three quarters of `concurrency` (see toConfig). */
          maxInFlightPerEndpoint: z.number().int().min(1).max(256).optional(),
        })
        .strict()
        .default(deliveryDefaults),
      reconnect: z
        .object({
          minDelaySeconds: seconds.default(DEFAULT_RECONNECT_POLICY.minDelaySeconds),
          maxDelaySeconds: seconds.default(DEFAULT_RECONNECT_POLICY.maxDelaySeconds),
          authFailureDelaySeconds: seconds.default(DEFAULT_RECONNECT_POLICY.authFailureDelaySeconds),
          maxAuthFailureDelaySeconds: seconds.default(DEFAULT_RECONNECT_POLICY.maxAuthFailureDelaySeconds),
          outageGraceSeconds: seconds.default(DEFAULT_RECONNECT_POLICY.outageGraceSeconds),
        })
        .strict()
        .default(DEFAULT_RECONNECT_POLICY),
      imap: z
        .object({
          checkIntervalSeconds: seconds.min(1).default(imapDefaults.checkIntervalSeconds),
          maxConcurrentLogins: z.number().int().min(1).max(1000).default(imapDefaults.maxConcurrentLogins),
          loginsPerSecond: z.number().positive().max(10_000).default(imapDefaults.loginsPerSecond),
        })
        .strict()
        .default(imapDefaults),
      retention: z
        .object({ days: seconds.default(30) })
        .strict()
        .default({ days: 30 }),
      dashboard: z
        .object({ showMessageDetails: z.boolean().default(false) })
        .strict()
        .default({ showMessageDetails: false }),
      connect: connectSchema(files).optional(),
      // None is a valid start: accounts can come through the management API, and `trigger` needs none.
      accounts: z.array(account).default([]),
      subscriptions: z.array(subscription).default([]),
    })
    .strict();
}

export type ConfigFile = z.output<ReturnType<typeof configFileSchema>>;

/** How an account's or a subscription's secrets and CA certificate are given: by reference (file), or inline (API). */
export interface SecretFields {
  readonly secret: z.ZodType<string, unknown>;
  readonly webhookSecret: z.ZodType<Buffer, unknown>;
  readonly caCertificate: z.ZodType<string, unknown>;
}

const inlineSecret = z.string().min(1);

/**
 * Secrets and the CA certificate as the management API takes them: written out. Never a file or variable
 * reference, which would let an API caller read the bridge's files and environment.
 */
export const INLINE_SECRETS: SecretFields = {
  secret: inlineSecret,
  webhookSecret: webhookSecretOf(inlineSecret),
  caCertificate: z
    .string()
    .regex(/-----BEGIN CERTIFICATE-----/, 'expected PEM text (-----BEGIN CERTIFICATE----- ...)'),
};

/** A `whsec_` signing secret, decoded, from what `secret` gives. */
export function webhookSecretOf(secret: z.ZodType<string, unknown>): z.ZodType<Buffer, unknown> {
  return secret.transform((text, ctx): Buffer => {
    try {
      return decodeWebhookSecret(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: errorMessage(error) });
      return z.NEVER;
    }
  });
}

/** A host name that can only mean this machine: plain-text credentials to it never cross a network. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1' || name === '[::1]';
}

/** An OAuth2 endpoint: the user's consent, codes and client secrets travel there, so https unless on loopback. */
const oauthEndpoint = z.url({ protocol: /^https?$/ }).refine((url) => {
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || isLoopbackHost(parsed.hostname);
}, 'must be https:// (codes and the client secret travel in it); http:// only for loopback hosts');

/**
 * The hosted connect flow's settings: the config file's `connect`, and in AWS mode the JSON secret the stack
 * reads (secrets inline there). OAuth clients' URLs and scope default to the provider's.
 */
export function connectSchema(fields: SecretFields) {
  const connectProvider = z
    .object({
      clientId: z.string().min(1),
      clientSecret: fields.secret.optional(),
      authorizeUrl: oauthEndpoint.optional(),
      tokenUrl: oauthEndpoint.optional(),
      scope: z.string().min(1).optional(),
      imap: z
        .object({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535),
          security: z.enum(['tls', 'starttls']).default('tls'),
          ca: fields.caCertificate.optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
  return z
    .object({
      allowedRedirects: z.array(z.url({ protocol: /^https?$/ })).default([]),
      linkValidSeconds: seconds.max(86_400).default(900),
      providers: z
        .object({ gmail: connectProvider.optional(), outlook: connectProvider.optional() })
        .strict()
        .default({}),
    })
    .strict();
}

/** One account as the config file and the management API take it; rules across fields are in load-config. */
export function accountSchema(fields: SecretFields) {
  return z
    .object({
      ...accountFields,
      allowInsecure: z.boolean().default(false),
      password: fields.secret.optional(),
      oauth2: z
        .object({ ...oauth2Fields, clientSecret: fields.secret.optional(), refreshToken: fields.secret })
        .strict()
        .optional(),
      connectionLimit: z.number().int().min(1).optional(),
      tls: z
        .object({ ca: fields.caCertificate.optional(), servername: z.string().min(1).optional() })
        .strict()
        .default({}),
    })
    .strict();
}

/** One subscription as the config file and the management API take it. */
export function subscriptionSchema(fields: SecretFields) {
  return z
    .object({
      ...subscriptionFields,
      secret: fields.webhookSecret,
      /** During a rotation: the secret receivers may still verify with; requests carry both signatures. */
      previousSecret: fields.webhookSecret.optional(),
      /** When signing with the previous secret stops (ISO 8601); without it, while it is configured. */
      previousSecretExpiresAt: z.iso.datetime({ offset: true }).optional(),
    })
    .strict();
}

export type AccountInput = z.output<ReturnType<typeof accountSchema>>;
export type SubscriptionInput = z.output<ReturnType<typeof subscriptionSchema>>;
