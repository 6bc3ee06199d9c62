import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { Context, Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { parseSecretJson } from '../../adapters/aws/secret-json.js';
import { createManagementApi } from '../../api/management-api.js';
import { createHttpApp } from '../../app/http-app.js';
import type { HttpAppRouters } from '../../app/routers.js';
import type { AwsEnvironment } from '../../config/aws-environment.js';
import { parseConnectDocument } from '../../config/load-config.js';
import { ConnectSigner, connectLink } from '../../connect/connect-links.js';
import { createConnectRoutes } from '../../connect/connect-routes.js';
import { createDashboard } from '../../dashboard/dashboard.js';
import { messageDetailsReader } from '../../dashboard/message-details.js';
import { buildOnce } from '../../domain/build-once.js';
import type { LinkRequest, ManagementBackend } from '../../ports/management.js';
import type { AwsAdapters } from './aws-composition.js';
import { awsManagementBackend } from './aws-management-backend.js';

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

interface LambdaBindings {
  readonly requestContext?: {
    readonly domainName?: string;
    readonly authorizer?: { readonly iam?: { readonly userArn?: string } };
  };
}

/** A Lambda function URL's domain (`<id>.lambda-url.<region>.on.aws`), where AWS_IAM auth is enforced. */
const FUNCTION_URL_DOMAIN = /^[a-z0-9]+\.lambda-url\.[a-z0-9-]+\.on\.aws$/;

/**
 * The caller AWS authenticated with SigV4 before invoking the function through its IAM function URL. Anyone
 * allowed `lambda:InvokeFunction` can hand-write an event with this context, so it is trusted only where the
 * stack made that URL (`iamAccess`) and the request names it; every other request needs a token.
 */
function iamCaller(c: Context): string | undefined {
  const context = (c.env as LambdaBindings | undefined)?.requestContext;
  if (!context?.domainName || !FUNCTION_URL_DOMAIN.test(context.domainName)) return undefined;
  return context.authorizer?.iam?.userArn;
}

/** Browsers reach the connect flow where the request came in (the HTTP API's domain, or a custom one). */
const originOf = (requestUrl: string) => new URL(requestUrl).origin;

/**
 * The HTTP app's routers in AWS mode: the management API, the dashboard, and the connect flow where the stack
 * configures one (read from its secrets). Blob links have a function of their own (blob-link-handler.ts).
 */
async function createApp(aws: AwsAdapters, env: AwsEnvironment): Promise<Hono> {
  const base = awsManagementBackend(aws, env);
  const configArn = env.IDLEHOOK_CONNECT_CONFIG_ARN;
  const keyArn = env.IDLEHOOK_CONNECT_KEY_ARN;
  let backend: ManagementBackend = base;
  let connect: HttpAppRouters['connect'];
  if (configArn && keyArn) {
    const [document, key] = await Promise.all([aws.secrets.resolve(configArn), aws.secrets.resolve(keyArn)]);
    const config = parseConnectDocument(parseSecretJson(document, configArn), `the secret ${configArn}`);
    const signer = new ConnectSigner(Buffer.from(key));
    backend = {
      ...base,
      connectLink: (request: LinkRequest, requestUrl: string) =>
        connectLink(config, signer, originOf(requestUrl), request, aws.clock.now()),
    };
    const routes = createConnectRoutes({
      config,
      signer,
      flows: aws.connectFlows,
      baseUrl: originOf,
      backend,
      tokenEndpoint: aws.tokenEndpoint,
    });
    connect = async () => routes;
  }
  // The page is on the internet: its data needs a token even before the first one exists.
  const dashboard = createDashboard(backend, {
    tokens: 'always',
    messageDetails:
      env.IDLEHOOK_DASHBOARD_MESSAGE_DETAILS === 'true' ? messageDetailsReader(aws.blobs) : undefined,
  });
  const api = createManagementApi(
    backend,
    env.IDLEHOOK_IAM_ACCESS === 'true' ? { platformCaller: iamCaller } : {},
  );
  return createHttpApp(
    { api: async () => api, dashboard: async () => dashboard, ...(connect ? { connect } : {}) },
    aws.logger,
  );
}

/**
 * The management API function (functions/api): the same Hono apps as local mode, over the AWS stores. Built at
 * the first request (its settings are in Secrets Manager); a failure is thrown, logged by Lambda, and retried at
 * the next request.
 */
export function apiFunction(aws: AwsAdapters, env: AwsEnvironment): ApiHandler {
  const ready = buildOnce(() => createApp(aws, env).then((app) => handle(app) as unknown as ApiHandler));
  return async (event) => (await ready())(event);
}
