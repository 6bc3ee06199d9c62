// The management API Lambda, behind an HTTP API (tokens) and, where enabled, a function URL with IAM auth.
// Clients and adapters are built once per cold start.
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { apiFunction } from '../../src/runtime/api-function.js';
import { composeAwsAdapters } from '../../src/runtime/aws-composition.js';

const env = loadAwsEnvironment();
export const handler = apiFunction(composeAwsAdapters(env), env);
