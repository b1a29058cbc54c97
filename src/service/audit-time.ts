/**
 * Finding events by time. The store keeps event times non-decreasing along
 * the log, so the events of a period are one contiguous seq range, found by
 * binary search in the store; a bundle, a report and a search of the same
 * period start at the same event.
 *
 * The search runs over the store's indexed `time` column, which is not
 * hashed: the signed bodies of the events either side of the answer are held
 * to it, so a column moved by someone with write access to the database (the
 * first events of a quarter put back before it) cannot make a report or a
 * bundle of that period start after them and still verify.
 */
import { CountersignError } from '../core/errors.ts';
import type { Store } from '../core/ports.ts';

/**
 * The first seq whose event was written at or after `time` (the log's length + 1 when none was); AUDIT_INTEGRITY_FAILED
 * when the signed times of the events around it say otherwise.
 *
 * @example
 * const first = await firstSeqAtOrAfter(store, new Date('2026-07-01T00:00:00Z')); // 4182
 */
export async function firstSeqAtOrAfter(store: Store, time: Date): Promise<number> {
  const seq = await store.firstSeqAtOrAfter(time.toISOString());
  const around = await store.readAudit(Math.max(1, seq - 1), 2);
  for (const e of around) {
    if (e.seq !== seq - 1 && e.seq !== seq) continue;
    const atOrAfter = Date.parse(e.time) >= time.getTime();
    if (e.seq === seq - 1 ? atOrAfter : !atOrAfter) {
      throw new CountersignError(
        'AUDIT_INTEGRITY_FAILED',
        `the audit log does not verify, so no period is read from it: event ${e.seq} was written at ${e.time} (its signed time), but the store's time index puts it ${atOrAfter ? 'before' : 'at or after'} ${time.toISOString()} (its time column was changed outside the gateway; \`countersign audit verify\` names the first event that breaks)`,
        { seq: e.seq },
      );
    }
  }
  return seq;
}
