// The management API function as API Gateway and Lambda would run it, for the tests: the events an HTTP API
// (payload format 2.0) hands the function, and a stack on the emulators with the Secrets Manager stand-in.
// API Gateway and Lambda cannot run here: the events are built as AWS documents them.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { SecretsManagerResolver } from '../../src/adapters/aws/secrets-manager-resolver.js';
import { SecretsManagerWriter } from '../../src/adapters/aws/secrets-manager-writer.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { ApiHandler } from '../../src/compose/aws/api-function.js';
import { type AwsClients, composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import type { TokenScope } from '../../src/domain/api-tokens.js';
import { recordOf } from '../../src/domain/null-prototype.js';
import { runFunctions, startEmulatedStack } from './aws-pipeline.js';
import type { DovecotServer } from './dovecot.js';
import { startKms } from './kms-standin.js';
import { withLinkKey } from './link-endpoint.js';
import { type SecretsManagerStandIn, startSecretsManager } from './secrets-manager-standin.js';

/** The HTTP API's address in these tests. */
export const API_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com';

/** A request as the HTTP API hands it to the function; `iamCaller` is set only where AWS checked a SigV4 signature. */
export function apiGatewayEvent(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string; iamCaller?: string; cookies?: string[] } = {},
): APIGatewayProxyEventV2 {
  const target = new URL(url, API_URL);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: target.pathname,
    rawQueryString: target.search.slice(1),
    headers: {
      host: target.host,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: target.host,
      domainPrefix: 'abc123',
      http: { method, path: target.pathname, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'request',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(options.iamCaller
        ? {
            authorizer: {
              iam: {
                accessKey: 'AKIA',
                accountId: '123456789012',
                callerId: 'AROA',
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: options.iamCaller,
                userId: 'AROA:session',
              },
            },
          }
        : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    ...(options.body === undefined ? {} : { body: options.body }),
    // Payload 2.0 carries the request's cookies here, not in a Cookie header.
    ...(options.cookies?.length ? { cookies: options.cookies } : {}),
    isBase64Encoded: false,
  };
}

/** Invokes the function as API Gateway does, with a bearer token (null: none); the answer, JSON parsed. */
export async function invokeApi(
  handler: ApiHandler,
  method: string,
  url: string,
  options: { token: string | null; body?: unknown; iamCaller?: string; cookies?: string[] },
) {
  const { token, body, iamCaller, cookies } = options;
  const result = (await handler(
    apiGatewayEvent(method, url, {
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      ...(iamCaller ? { iamCaller } : {}),
      ...(cookies ? { cookies } : {}),
    }),
  )) as Exclude<APIGatewayProxyResultV2, string>;
  const text = result.body ?? '';
  return {
    status: result.statusCode ?? 0,
    headers: result.headers ?? {},
    /** The Set-Cookie values (payload 2.0 returns them apart from the headers). */
    setCookies: result.cookies ?? [],
    text,
    json: text.startsWith('{') ? (JSON.parse(text) as any) : undefined,
  };
}

/** An account document for the API: a user of the test Dovecot, over implicit TLS with its CA. */
export function dovecotAccount(dovecot: DovecotServer, id: string, user: string, password: string) {
  return {
    id,
    host: '127.0.0.1',
    port: dovecot.tlsPort,
    user,
    password,
    tls: { ca: readFileSync(dovecot.caFile, 'utf8'), servername: 'localhost' },
  };
}

/**
 * The function behind a local HTTP server, as the HTTP API puts it on the internet: each request becomes the event
 * API Gateway would send, each result the response it would return. For a browser to load the dashboard from.
 */
export async function serveAsHttpApi(
  handler: ApiHandler,
): Promise<{ url: string; close: () => Promise<void> }> {
  // A request may still be running when the browser closes its sockets: closing waits for it, so that no DynamoDB
  // call outlives the test (the emulators are stopped next).
  const inFlight = new Set<Promise<void>>();
  const server = createServer((request, response) => {
    const answering = answer(request, response)
      .catch(() => void response.destroy())
      .finally(() => inFlight.delete(answering));
    inFlight.add(answering);
  });
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = recordOf(
      Object.entries(request.headers).flatMap(([name, value]) =>
        value === undefined ? [] : [[name, [value].flat().join(',')] as const],
      ),
    );
    const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
    const result = (await handler(
      apiGatewayEvent(request.method ?? 'GET', request.url ?? '/', {
        headers,
        ...(body === undefined ? {} : { body }),
      }),
    )) as Exclude<APIGatewayProxyResultV2, string>;
    const content = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
    response.writeHead(result.statusCode ?? 500, result.headers as OutgoingHttpHeaders).end(content);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled(inFlight);
    },
  };
}

/**
 * A stack on the emulators with the Secrets Manager and KMS stand-ins, the AWS watcher and the functions running, for the
 * API function to work on. `secrets` are stored before anything starts (name -> value); `environment` receives
 * their ARNs.
 */
export async function startApiStack(options: {
  readonly bucket: string;
  readonly prefix: string;
  readonly secrets?: ReadonlyMap<string, string>;
  readonly environment?: (arns: ReadonlyMap<string, string>) => Record<string, string>;
}) {
  const stack = await startEmulatedStack(options.bucket);
  const secretsManager: SecretsManagerStandIn = await startSecretsManager();
  const kms = await startKms();
  const arns = new Map(
    [...(options.secrets ?? [])].map(([name, value]) => [name, secretsManager.put(name, value)]),
  );
  const env: AwsEnvironment = loadAwsEnvironment({
    ...stack.variables,
    IDLEHOOK_SECRET_PREFIX: options.prefix,
    IDLEHOOK_CREDENTIALS_KEY_ID: kms.keyArn,
    IDLEHOOK_STACK_NAME: 'ApiTest',
    IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '1',
    IDLEHOOK_LOG_LEVEL: 'error',
    ...options.environment?.(arns),
  });
  /** Each component its own clients, as each function and the task has its own. */
  const clientsOf = (): Partial<AwsClients> => {
    const client = new SecretsManagerClient({
      ...stack.dynamo.clientConfig,
      endpoint: secretsManager.endpoint,
    });
    return {
      ...stack.clients,
      secrets: withLinkKey(new SecretsManagerResolver(client, systemClock)),
      secretWriter: new SecretsManagerWriter(client),
      secretsManager: client,
      kms: kms.client(),
    };
  };
  const adapters = () => composeAwsAdapters(env, clientsOf());
  const watcher: AwsWatcher = await startAwsWatcher(env, {
    clients: clientsOf(),
    healthPort: 0,
    heartbeat: async () => {},
    // Reported within a fifth of a second, counters within a second: the tests wait for them.
    statusReportTiming: {
      tickMs: 200,
      countersEveryMs: 1_000,
      refreshEveryMs: 60 * 60_000,
      tallyEveryMs: 60_000,
    },
  });
  let functions = runFunctions(adapters(), env, stack.aws.sqs);
  return {
    env,
    adapters,
    secretsManager,
    kms,
    /** DynamoDB units used, by partition, across every component's calls. */
    partitions: stack.dynamo.partitions,
    /** What `idlehook tokens create --stack NAME` does, with the operator's credentials. */
    createToken: async (name: string, scope: TokenScope = 'full') =>
      (await adapters().apiTokens.create(name, scope)).token,
    /** The state of an account's INBOX in the watcher (undefined: not watched). */
    mailboxState: async (account: string) => {
      const health = (await (await fetch(watcher.healthUrl)).json()) as {
        accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
      };
      return Object.hasOwn(health.accounts, account)
        ? health.accounts[account]?.mailboxes.INBOX?.state
        : undefined;
    },
    /** New function instances: they see changed subscriptions at once (a warm one caches them for 30 s). */
    restartFunctions: async () => {
      await functions.stop();
      functions = runFunctions(adapters(), env, stack.aws.sqs);
    },
    stop: async () => {
      await functions.stop();
      await watcher.stop();
      await secretsManager.close();
      await kms.close();
      await stack.stop();
    },
  };
}

export type ApiStack = Awaited<ReturnType<typeof startApiStack>>;
