// The deliver Lambda: SQS (delivery queue) -> one signed webhook attempt per record.
// Clients and adapters are built once per cold start.

import { composeAwsAdapters, deliverFunction } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';

const env = loadAwsEnvironment();
export const handler = deliverFunction(composeAwsAdapters(env), env);
