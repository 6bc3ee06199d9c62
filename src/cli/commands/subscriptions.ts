import { awsIdCommand, awsOnly, type Command, stringOptions } from '../command.js';
import type { Target } from '../targets.js';

export const listSubscriptionsCommand: Command = {
  name: 'subscriptions',
  summary: 'list subscriptions and whether they are enabled',
  scope: 'both',
  async run({ target: openTarget, out }) {
    const target = await openTarget();
    const listed = target.aws
      ? (await target.aws.subscriptions.stored()).map((s) => ({ id: s.id, url: s.url }))
      : await target.subscriptions();
    for (const s of listed) {
      const health = await target.subscriptionStatus.health(s.id);
      const state = health.disabledReason
        ? `disabled: ${health.disabledReason}`
        : health.failingSince !== undefined
          ? `enabled, failing since ${new Date(health.failingSince).toISOString()}`
          : 'enabled';
      out(`${s.id}  ${s.url}  ${state}`);
    }
    return 0;
  },
};

/** The subscription the command's first argument names, if there is one; else says so and gives undefined. */
async function knownSubscription(target: Target, args: readonly string[]): Promise<string | undefined> {
  const [id] = args;
  if (id && (await target.subscriptions()).some((s) => s.id === id)) return id;
  process.stderr.write(`No subscription "${id ?? ''}".\n`);
  return undefined;
}

export const enableSubscriptionCommand: Command = {
  name: 'subscriptions enable',
  synopsis: 'ID',
  summary: 're-enable a subscription disabled by a 410 Gone or by failing too long',
  scope: 'both',
  async run({ args, target: openTarget, out }) {
    const target = await openTarget();
    const id = await knownSubscription(target, args);
    if (id === undefined) return 2;
    await target.subscriptionStatus.enable(id);
    out(`Subscription ${id} enabled.`);
    return 0;
  },
};

export const retrySubscriptionCommand: Command = {
  name: 'subscriptions retry',
  synopsis: 'ID',
  summary: 'retry the subscription’s deliveries being retried now, for an endpoint that is back',
  scope: 'both',
  async run({ args, target: openTarget, out }) {
    const target = await openTarget();
    const id = await knownSubscription(target, args);
    if (id === undefined) return 2;
    const retried = await target.retries.retryNow(id);
    out(
      retried === 0
        ? `No deliveries to ${id} are waiting for a retry.`
        : `${retried} ${retried === 1 ? 'delivery' : 'deliveries'} to ${id} retried now (${target.aws ? 'due in SQS at once' : 'the running bridge sends within a second'}).`,
    );
    return 0;
  },
};

const ADD_OPTIONS = {
  id: { type: 'string' },
  url: { type: 'string' },
  'secret-env': { type: 'string' },
  'secret-arn': { type: 'string' },
  'previous-secret-arn': { type: 'string' },
  events: { type: 'string' },
  accounts: { type: 'string' },
  'rate-limit': { type: 'string' },
} as const;

export const addSubscriptionCommand: Command = {
  name: 'subscriptions add',
  synopsis:
    '--id ID --url URL (--secret-env NAME | --secret-arn ARN)\n' +
    '               [--events message.received,...] [--accounts a,b] [--previous-secret-arn ARN]\n' +
    '               [--rate-limit REQUESTS_PER_SECOND]',
  summary:
    '(adding an existing id replaces it; --previous-secret-arn signs with the old\n' +
    ' secret too while receivers switch)',
  scope: 'aws',
  options: ADD_OPTIONS,
  async run({ values, target, out }) {
    const aws = awsOnly(await target());
    // AWS mode only: the Secrets Manager client loads with it.
    const { subscriptionFromOptions } = await import('../aws-management.js');
    const subscription = await subscriptionFromOptions(
      stringOptions(values, Object.keys(ADD_OPTIONS)),
      process.env,
      { prefix: aws.secretPrefix, resolve: (arn) => aws.secrets.resolve(arn) },
    );
    await aws.subscriptions.put(subscription);
    out(`Subscription ${subscription.id} added: ${subscription.url}`);
    return 0;
  },
};

export const removeSubscriptionCommand = awsIdCommand(
  'subscriptions remove',
  'stop delivering to a subscription',
  async (aws, id) => {
    await aws.subscriptions.remove(id);
    return `Subscription ${id} removed.`;
  },
);
