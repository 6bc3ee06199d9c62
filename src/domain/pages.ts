/** A page of a listing and where the next one starts (null: this is the last). */
export interface Page<T> {
  readonly data: readonly T[];
  readonly nextCursor: string | null;
}

export interface PageQuery {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** Cursors are the last key of the page before, opaque to clients. */
export const encodeCursor = (key: string): string => Buffer.from(key).toString('base64url');
export const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString();

/** A page of `items` (sorted by `key`) after the cursor, in memory. */
export function paginate<T>(items: readonly T[], key: (item: T) => string, query: PageQuery): Page<T> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const start = after === undefined ? 0 : items.findIndex((item) => key(item) > after);
  const rest = start < 0 ? [] : items.slice(start);
  const data = rest.slice(0, query.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor: rest.length > query.limit && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
