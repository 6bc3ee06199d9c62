import type {
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetterQuery,
  DeadLetterSummary,
} from '../ports/pipeline.js';

/** Which dead letters a listing or a replay selects; every field narrows it. */
export function deadLetterMatches(filter: DeadLetterFilter): (letter: DeadLetterSummary) => boolean {
  return (l) =>
    (!filter.eventId || l.eventId === filter.eventId) &&
    (!filter.subscriptionId || l.subscriptionId === filter.subscriptionId) &&
    (filter.since === undefined || l.failedAt >= filter.since) &&
    (filter.until === undefined || l.failedAt < filter.until);
}

/** A time as the start of an order key: keys of letters failed at or after it sort at or after it. */
export const failedAtKey = (failedAt: number): string => String(failedAt).padStart(15, '0');

/**
 * Where a dead letter sorts: by failure time, then event, then subscription. DynamoDB's dead-letter index sorts
 * by this very string; a listing's cursor is the key of the last letter it returned.
 */
export const deadLetterOrderKey = (letter: {
  readonly failedAt: number;
  readonly eventId: string;
  readonly subscriptionId: string;
}): string => `${failedAtKey(letter.failedAt)}#${letter.eventId}#${letter.subscriptionId}`;

const byOrderKey = (a: DeadLetterSummary, b: DeadLetterSummary) => {
  const [x, y] = [deadLetterOrderKey(a), deadLetterOrderKey(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The first `limit` of these letters that the query selects, in its order, and whether more follow. */
export function pageOfDeadLetters(
  letters: readonly DeadLetterSummary[],
  query: DeadLetterQuery,
): DeadLetterPage {
  const { after } = query;
  const selected = letters
    .filter(deadLetterMatches(query.filter))
    .filter(
      (letter) =>
        after === undefined ||
        (query.newestFirst ? deadLetterOrderKey(letter) < after : deadLetterOrderKey(letter) > after),
    )
    .sort(query.newestFirst ? (a, b) => byOrderKey(b, a) : byOrderKey);
  return { letters: selected.slice(0, query.limit), more: selected.length > query.limit };
}
