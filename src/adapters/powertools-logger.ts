import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../ports/services.js';

/** Structured JSON logs through AWS Lambda Powertools, the same format locally and on AWS. */
export function createLogger(level: 'debug' | 'info' | 'warn' | 'error'): Logger {
  const logger = new PowertoolsLogger({ serviceName: 'idlehook', logLevel: level.toUpperCase() as 'INFO' });
  return {
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}
