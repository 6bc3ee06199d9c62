import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { Context } from 'hono';
import { handle } from 'hono/aws-lambda';
import { createManagementApi } from '../api/management-api.js';
import type { AwsEnvironment } from '../config/aws-environment.js';
import type { AwsAdapters } from './aws-composition.js';
import { awsManagementBackend } from './aws-management-backend.js';

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

interface LambdaBindings {
  readonly requestContext?: { readonly authorizer?: { readonly iam?: { readonly userArn?: string } } };
}

/**
 * The caller AWS authenticated with SigV4 before invoking the function (a function URL or an HTTP API route
 * with IAM authorization). API Gateway and Lambda build the request context themselves: a caller cannot set it.
 */
function iamCaller(c: Context): string | undefined {
  return (c.env as LambdaBindings | undefined)?.requestContext?.authorizer?.iam?.userArn;
}

/** The management API function (functions/api): the same Hono app as local mode, over the AWS stores. */
export function apiFunction(aws: AwsAdapters, env: AwsEnvironment): ApiHandler {
  const app = createManagementApi(awsManagementBackend(aws, env), { platformCaller: iamCaller });
  return handle(app) as unknown as ApiHandler;
}
