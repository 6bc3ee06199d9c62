// The parse Lambda: SQS (FIFO ingest queue) -> parsed event -> one delivery record per subscription.
// Clients and adapters are built once per cold start.
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { composeAwsAdapters, parseFunction } from '../../src/runtime/aws-composition.js';

export const handler = parseFunction(composeAwsAdapters(loadAwsEnvironment()));
