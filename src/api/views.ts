import type { MessageAction } from '../domain/message-actions.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type { AccountListing, Listed, ManagementBackend } from '../ports/management.js';
import type { DeadLetterSummary, DeliveryAttempt } from '../ports/pipeline.js';
import type { AccountStatusReport } from '../ports/watcher.js';

/** How the API (and the dashboard) show accounts, subscriptions, attempts and dead letters: no secrets. */

export const iso = (ms: number) => new Date(ms).toISOString();

export function accountView(
  backend: Pick<ManagementBackend, 'unreportedState'>,
  { value, origin }: Listed<AccountListing>,
  report: AccountStatusReport | undefined,
) {
  const status = report?.status;
  return {
    id: value.id,
    origin,
    host: value.host,
    port: value.port,
    security: value.security,
    user: value.user,
    auth: value.auth.kind,
    mailboxes: [...value.mailboxes],
    initialSync: value.initialSync,
    connectionLimit: value.connectionLimit ?? null,
    status: {
      state: status?.state ?? backend.unreportedState,
      lastError: status?.lastError ?? null,
      errorCode: status?.errorCode ?? null,
      nextLoginAttemptAt: status?.nextLoginAttemptAt ?? null,
      mailboxes: Object.entries(status?.mailboxes ?? {}).map(([name, m]) => ({ name, ...m })),
      reportedAt: report?.reportedAt === undefined ? null : iso(report.reportedAt),
      omittedMailboxes: report?.omittedMailboxes ?? 0,
    },
  };
}

export async function subscriptionView(
  backend: Pick<ManagementBackend, 'subscriptionStatus'>,
  { value, origin }: Listed<SubscriptionConfig>,
) {
  const health = await backend.subscriptionStatus.health(value.id);
  const previousUntil = value.secrets.length > 1 ? value.previousSecretUntil : undefined;
  return {
    id: value.id,
    origin,
    url: value.url,
    events: value.events ? [...value.events] : null,
    accounts: value.accounts ? [...value.accounts] : null,
    rateLimitPerSecond: value.rateLimitPerSecond ?? null,
    filter: value.filter?.pattern ?? null,
    afterDelivery: value.afterDelivery?.map(actionView) ?? null,
    previousSecretExpiresAt: previousUntil === undefined ? null : iso(previousUntil),
    health: {
      enabled: health.disabledReason === undefined,
      disabledReason: health.disabledReason ?? null,
      failingSince: health.failingSince === undefined ? null : iso(health.failingSince),
    },
  };
}

export function attemptView(a: DeliveryAttempt) {
  return {
    eventId: a.eventId,
    eventType: a.eventType,
    attempt: a.attempt,
    attemptedAt: iso(a.attemptedAt),
    durationMs: a.durationMs,
    succeeded: a.succeeded,
    status: a.status ?? null,
    error: a.error ?? null,
    responseExcerpt: a.responseExcerpt ?? null,
  };
}

export function deadLetterView(l: DeadLetterSummary) {
  return {
    eventId: l.eventId,
    eventType: l.eventType,
    subscriptionId: l.subscriptionId,
    failedAt: iso(l.failedAt),
    attempts: l.attempts,
    reason: l.reason,
  };
}

/** An action as the API shows it (its lists copied: the response types are mutable). */
function actionView(action: MessageAction) {
  return 'flags' in action ? { ...action, flags: [...action.flags] } : { ...action };
}
