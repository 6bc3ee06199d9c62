import { parseSubscriptionDocument } from '../../config/load-config.js';
import { namedAccountsThatExist } from '../../domain/subscriptions.js';
import {
  awsIdCommand,
  awsOnly,
  type Command,
  directoryOf,
  flag,
  refusedWrite,
  stringOptions,
} from '../command.js';
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
  filter: { type: 'string' },
} as const;

export const addSubscriptionCommand: Command = {
  name: 'subscriptions add',
  synopsis:
    '--id ID --url URL (--secret-env NAME | --secret-arn ARN)\n' +
    '               [--events message.received,...] [--accounts a,b] [--previous-secret-arn ARN]\n' +
    '               [--rate-limit REQUESTS_PER_SECOND] [--filter EVENT_PATTERN_JSON] [--replace]',
  summary:
    '(an existing id is refused unless --replace; --previous-secret-arn signs with the old\n' +
    ' secret too while receivers switch)',
  scope: 'aws',
  options: { ...ADD_OPTIONS, replace: { type: 'boolean', default: false } },
  async run({ values, target, out }) {
    const aws = awsOnly(await target());
    const replace = flag(values, 'replace');
    const { subscriptionFromOptions } = await import('../aws-management.js');
    const { document, byArn } = await subscriptionFromOptions(
      stringOptions(values, Object.keys(ADD_OPTIONS)),
      process.env,
      (arn) => aws.secrets.resolve(arn),
    );
    // The API's write path: the same checks (accounts it names must exist) and secret handling as POST and
    // PATCH /v1/subscriptions; a secret given by ARN is stored as that reference.
    const directory = await directoryOf(aws);
    const subscription = parseSubscriptionDocument(
      document,
      'the command line',
      await namedAccountsThatExist(document, directory),
    );
    const written = replace
      ? await directory.replaceSubscription(document, subscription, byArn)
      : await directory.addSubscription(document, subscription, byArn);
    if (!written) return refusedWrite('subscription', subscription.id, replace);
    out(`Subscription ${subscription.id} ${replace ? 'replaced' : 'added'}: ${subscription.url}`);
    return 0;
  },
};

export const removeSubscriptionCommand = awsIdCommand(
  'subscriptions remove',
  'stop delivering to a subscription; the signing secrets idlehook stored for it are deleted',
  async (aws, id) =>
    (await (await directoryOf(aws)).removeSubscription(id)) === 'not-found'
      ? { missing: `No subscription ${id}.` }
      : `Subscription ${id} removed.`,
);
