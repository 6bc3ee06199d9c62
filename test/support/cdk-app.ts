import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';

const CDK_JSON = resolve(import.meta.dirname, '../../cdk.json');

/** The context `cdk synth` reads from cdk.json: the feature flags the deployed template is built with. */
export function projectContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/**
 * An App built as `cdk synth` builds it, so assertions check the template users deploy. Asset bundling is
 * skipped unless `bundle` is set (bundling is tested once, on its own).
 */
export function projectApp(props: AppProps & { readonly bundle?: boolean } = {}): App {
  const { bundle, context, ...rest } = props;
  return new App({
    ...rest,
    context: { ...projectContext(), ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...context },
  });
}
