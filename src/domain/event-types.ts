/** Every event type idlehook emits; subscriptions filter on these names. */
export const EVENT_TYPES = [
  'message.received',
  'message.flags_changed',
  'message.deleted',
  'mailbox.reset',
  'mailbox.created',
  'mailbox.deleted',
  'mailbox.renamed',
  'account.error',
  'endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
