// The parse Lambda: SQS (FIFO ingest queue) -> parsed event -> one delivery record per subscription.
// Clients and adapters are built once per cold start.

import { composeAwsAdapters, parseFunction } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';

export const handler = parseFunction(composeAwsAdapters(loadAwsEnvironment()));
