import { z } from 'zod';
import { ConfigError } from './load-config.js';

const DEFAULT_SCHEDULE = '5,300,1800,7200,18000,36000,36000';

const schema = z.object({
  IDLEHOOK_TABLE_NAME: z.string().min(1),
  IDLEHOOK_INGEST_QUEUE_URL: z.url(),
  IDLEHOOK_DELIVERY_QUEUE_URL: z.url(),
  IDLEHOOK_BLOB_BUCKET: z.string().min(1),
  IDLEHOOK_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  IDLEHOOK_DELIVERY_TIMEOUT_SECONDS: z.coerce.number().positive().max(60).default(15),
  IDLEHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .default(DEFAULT_SCHEDULE)
    .transform((text, ctx) => {
      const values = text.split(',').map((part) => Number(part.trim()));
      if (values.some((v) => !Number.isFinite(v) || v <= 0)) {
        ctx.addIssue({ code: 'custom', message: 'a comma-separated list of positive seconds' });
        return z.NEVER;
      }
      return values;
    }),
});

export type AwsEnvironment = z.output<typeof schema>;

/** The Lambdas' and the watcher task's configuration: environment variables set by the CDK stack. */
export function loadAwsEnvironment(env: NodeJS.ProcessEnv = process.env): AwsEnvironment {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    'the environment',
    parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
}
