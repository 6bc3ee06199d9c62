/**
 * Objects keyed by names that come from outside (header names, folder names, account ids) have no prototype:
 * `__proto__`, `constructor` or `toString` are then ordinary keys, never Object.prototype's members or a write
 * onto it. Use a `Map` where the object is not headed for JSON.
 */
export function emptyRecord<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** A JSON-ready object from entries whose keys come from outside (see `emptyRecord`). */
export function recordOf<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const record = emptyRecord<V>();
  for (const [key, value] of entries) record[key] = value;
  return record;
}

/** `record[key]` for an outside key on an object that has a prototype (e.g. `process.env`): own values only. */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
