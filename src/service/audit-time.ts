/**
 * Finding events by time. The store keeps event times non-decreasing along
 * the log, so the events of a period are one contiguous seq range, found by
 * binary search in the store; a bundle, a report and a search of the same
 * period start at the same event.
 */
import type { Store } from '../core/ports.ts';

/** The first seq whose event was written at or after `time` (the log's length + 1 when none was). */
export function firstSeqAtOrAfter(store: Store, time: Date): Promise<number> {
  return store.firstSeqAtOrAfter(time.toISOString());
}
