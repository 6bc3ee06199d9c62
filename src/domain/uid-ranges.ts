/** A set of UIDs as sorted, disjoint, non-adjacent inclusive ranges: [[1, 5], [7, 7]] is "1:5,7". */
export type UidRanges = readonly (readonly [number, number])[];

/** The ranges covering exactly these UIDs (in any order, duplicates allowed). */
export function rangesOf(uids: Iterable<number>): UidRanges {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const uid of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && uid === last[1] + 1) last[1] = uid;
    else ranges.push([uid, uid]);
  }
  return ranges;
}

/** The UIDs from 1 to `upTo` that are not in `present`, as ranges. */
export function absentUpTo(upTo: number, present: UidRanges): UidRanges {
  const absent: [number, number][] = [];
  let next = 1;
  for (const [start, end] of present) {
    if (start > upTo) break;
    if (start > next) absent.push([next, start - 1]);
    next = Math.max(next, end + 1);
  }
  if (next <= upTo) absent.push([next, upTo]);
  return absent;
}

export function union(a: UidRanges, b: UidRanges): UidRanges {
  const all = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [start, end] of all) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** The UIDs in `a` that are not in `b`. */
export function difference(a: UidRanges, b: UidRanges): UidRanges {
  const result: [number, number][] = [];
  for (const [start, end] of a) {
    let from = start;
    for (const [bStart, bEnd] of b) {
      if (bEnd < from || bStart > end) continue;
      if (bStart > from) result.push([from, bStart - 1]);
      from = bEnd + 1;
      if (from > end) break;
    }
    if (from <= end) result.push([from, end]);
  }
  return result;
}

export function count(ranges: UidRanges): number {
  return ranges.reduce((n, [start, end]) => n + end - start + 1, 0);
}

export function* uidsIn(ranges: UidRanges): Generator<number> {
  for (const [start, end] of ranges) for (let uid = start; uid <= end; uid++) yield uid;
}

/** IMAP sequence-set syntax, e.g. "1:5,7". */
export function formatRanges(ranges: UidRanges): string {
  return ranges.map(([start, end]) => (start === end ? String(start) : `${start}:${end}`)).join(',');
}

export function parseRanges(text: string): UidRanges {
  if (text === '') return [];
  return union(
    [],
    text.split(',').map((part) => {
      const [start, end = start] = part.split(':').map(Number);
      if (!Number.isInteger(start) || !Number.isInteger(end)) throw new Error(`not a UID set: ${text}`);
      return [Math.min(start ?? 0, end ?? 0), Math.max(start ?? 0, end ?? 0)] as const;
    }),
  );
}
