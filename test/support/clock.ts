/** Time for tests: a clock that moves only when the test says so, to test expiry without sleeping. */
import type { Clock } from '../../src/core/ports.ts';

/**
 * @example
 * const clock = manualClock(); clock.advance(2 * 3600_000); // two hours later, at once
 */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => new Date(t),
    advance(ms) {
      t += ms;
    },
  };
}
