import { errorMessage } from '../domain/errors.js';
import type { EventOf, MessageCoordinates } from '../domain/events.js';
import { type ActionOutcome, combineAfterDelivery, type MessageAction } from '../domain/message-actions.js';
import { routeEvent, type SubscriptionConfig } from '../domain/subscriptions.js';
import type { DeliveryLog } from '../ports/pipeline.js';
import type { Logger } from '../ports/services.js';
import type { DeliveryRecord } from './records.js';

/** Tries of an action whose connection failed, and the pause between them. */
const TRIES = 3;
const PAUSE_MS = 5_000;

export interface AfterDeliveryDependencies {
  readonly log: Pick<DeliveryLog, 'isDelivered'>;
  readonly subscriptions: () => readonly SubscriptionConfig[];
  readonly act: (
    message: MessageCoordinates,
    action: MessageAction,
    requestId: string,
  ) => Promise<ActionOutcome | undefined>;
  readonly logger: Logger;
  readonly pauseMs?: number;
}

/**
 * Once a subscription's delivery of a message.received got its 2xx: when every subscription that asked for actions
 * on that message has its 2xx too, runs their actions (combineAfterDelivery). Two deliveries finishing together
 * both get here; the request ids (one per event and action) make the second ask for what is already done or under
 * way, which the watcher answers once. The actions run beside the delivery, never holding its queue.
 */
export async function runAfterDelivery(
  record: DeliveryRecord,
  subscription: SubscriptionConfig,
  deps: AfterDeliveryDependencies,
): Promise<void> {
  if (!subscription.afterDelivery || record.eventType !== 'message.received') return;
  const event = JSON.parse(record.body) as EventOf<'message.received'>;
  const asking = routeEvent(event, deps.subscriptions()).targets.filter((s) => s.afterDelivery);
  for (const other of asking)
    if (other.id !== subscription.id && !(await deps.log.isDelivered(record.eventId, other.id))) return;
  const { actions, skipped } = combineAfterDelivery(asking);
  const { account, mailbox, uidValidity, uid } = event.data;
  const message = { account, mailbox, uidValidity, uid };
  const fields = { eventId: record.eventId, account, mailbox, uid };
  if (skipped.length > 0)
    deps.logger.warn('more than one subscription moves or deletes this message: the first only', {
      ...fields,
      skipped: skipped.join(', '),
    });
  for (const [index, action] of actions.entries()) {
    const outcome = await tried(() => deps.act(message, action, `after_${record.eventId}_${index}`), deps);
    if (outcome?.kind === 'done') continue;
    deps.logger.warn('after-delivery action not done; the rest of them skipped', {
      ...fields,
      action: action.type,
      why: outcome ? outcome.detail : 'no connection to the account (logged above)',
    });
    return;
  }
}

async function tried(
  act: () => Promise<ActionOutcome | undefined>,
  deps: AfterDeliveryDependencies,
): Promise<ActionOutcome | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await act();
      if (outcome || attempt === TRIES) return outcome;
    } catch (error) {
      deps.logger.warn('after-delivery action failed to reach the server', {
        attempt,
        error: errorMessage(error),
      });
      if (attempt === TRIES) return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, deps.pauseMs ?? PAUSE_MS));
  }
}
