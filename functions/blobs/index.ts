// The blobs Lambda behind a function URL: checks a raw-message or attachment link from an event and redirects to
// a fresh, short-lived presigned S3 URL. Clients and adapters are built once per cold start.

import { blobLinkFunction, composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';

export const handler = blobLinkFunction(composeAwsAdapters(loadAwsEnvironment()));
