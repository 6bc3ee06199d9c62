// The management API Lambda, behind an HTTP API (tokens) and, where enabled, a function URL with IAM auth.
// Clients and adapters are built once per cold start.

import { apiFunction } from '../../src/compose/aws/api-function.js';
import { composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';

const env = loadAwsEnvironment();
export const handler = apiFunction(composeAwsAdapters(env), env);
