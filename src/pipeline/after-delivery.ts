import type { EventOf } from '../domain/events.js';
import { type ActionCommand, combineAfterDelivery } from '../domain/message-actions.js';
import { routeEvent, type SubscriptionConfig } from '../domain/subscriptions.js';
import type { DeliveryLog } from '../ports/pipeline.js';
import type { Clock, Logger } from '../ports/services.js';
import type { DeliveryRecord } from './records.js';

/** How often an after-delivery action is tried while the mail server cannot be reached. */
const TRIES = 3;

export interface AfterDeliveryDependencies {
  readonly log: Pick<DeliveryLog, 'isDelivered'>;
  /**
   * Has the actions run: on the watcher's connection (local mode), or filed for the watcher task holding the account
   * (AWS mode). Resolves once they ran, or once they are filed.
   */
  readonly perform: (command: ActionCommand) => Promise<unknown>;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Whether a 2xx of this delivery may have actions to run: the subscription asks for some, on a new message. */
export function asksForActions(
  record: Pick<DeliveryRecord, 'eventType'>,
  subscription: Pick<SubscriptionConfig, 'afterDelivery'>,
): boolean {
  return subscription.afterDelivery !== undefined && record.eventType === 'message.received';
}

/**
 * Once a subscription's delivery of a message.received got its 2xx: when every subscription that asked for actions
 * on that message has its 2xx too, has their actions run (combineAfterDelivery) as one command. Two deliveries
 * finishing together both get here; the command's id (`after_<eventId>`) and its steps' request ids make the second
 * ask for what is already done or under way, which the watcher answers once.
 */
export async function runAfterDelivery(
  record: Pick<DeliveryRecord, 'eventId' | 'eventType' | 'body'>,
  subscription: SubscriptionConfig,
  subscriptions: Iterable<SubscriptionConfig>,
  deps: AfterDeliveryDependencies,
): Promise<void> {
  if (!asksForActions(record, subscription)) return;
  const event = JSON.parse(record.body) as EventOf<'message.received'>;
  const asking = routeEvent(event, [...subscriptions]).targets.filter((s) => s.afterDelivery);
  for (const other of asking)
    if (other.id !== subscription.id && !(await deps.log.isDelivered(record.eventId, other.id))) return;
  const { actions, skipped } = combineAfterDelivery(asking);
  const { account, mailbox, uidValidity, uid } = event.data;
  if (skipped.length > 0)
    deps.logger.warn('more than one subscription moves or deletes this message: the first only', {
      eventId: record.eventId,
      account,
      mailbox,
      uid,
      skipped: skipped.join(', '),
    });
  await deps.perform({
    id: `after_${record.eventId}`,
    message: { account, mailbox, uidValidity, uid },
    steps: actions.map((action, index) => ({ action, requestId: `after_${record.eventId}_${index}` })),
    tries: TRIES,
    filedAt: deps.clock.now(),
  });
}
