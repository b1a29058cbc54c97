/**
 * Finding events by time. The store keeps event times non-decreasing along
 * the log, so the events of a period are one contiguous seq range, found by
 * binary search; a bundle and a report of the same period start at the same event.
 */
import type { Store } from '../core/ports.ts';

/** The first seq whose event was written at or after `time` (size + 1 when none was). */
export async function firstSeqAtOrAfter(store: Store, time: Date, size: number): Promise<number> {
  let lo = 1;
  let hi = size + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [e] = await store.readAudit(mid, 1);
    if (e && Date.parse(e.time) >= time.getTime()) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
