/**
 * The store's time, for processes on several machines that share one store
 * (PostgreSQL replicas). Each machine's clock is its own: a replica whose
 * clock ran behind took approvals for requests the others had seen expire,
 * and one whose clock ran ahead settled runs still within their deadline as
 * interrupted. This clock reads the machine's clock plus its measured offset
 * to the database's clock_timestamp(), measured at start and again every
 * `everyMs`, so every replica judges time to live and run deadlines on the
 * one clock they share, within half a round trip to the database.
 */
import type { Clock } from '../core/ports.ts';

/** A measurement whose round trip took longer than this is not taken (a busy pool or network): the last one stands. */
const MAX_ROUND_TRIP_MS = 500;

export interface StoreClock extends Clock {
  /** Measures the offset once more; resolves when done (a failed or slow measurement keeps the last offset). */
  align(): Promise<void>;
  /** The machine's clock minus the store's, in ms, as last measured. */
  offsetMs(): number;
  /** Stops measuring again. */
  stop(): void;
}

/**
 * @example
 * const clock = storeClock(systemClock, () => store.storeTime!(), { everyMs: 10_000 });
 * await clock.align(); clock.now(); // the database's time, read off this machine's clock
 */
export function storeClock(machine: Clock, storeTime: () => Promise<Date>, opts: { everyMs: number; onError?: (e: unknown) => void; onOffset?: (offsetMs: number) => void }): StoreClock {
  let offset = 0;
  let measured = false;
  async function align(): Promise<void> {
    try {
      const before = machine.now().getTime();
      const at = (await storeTime()).getTime();
      const after = machine.now().getTime();
      // Taken at start even when slow: nothing better is known yet.
      if (measured && after - before > MAX_ROUND_TRIP_MS) return;
      offset = (before + after) / 2 - at;
      measured = true;
      opts.onOffset?.(offset);
    } catch (e) {
      opts.onError?.(e);
    }
  }
  let timer: NodeJS.Timeout | undefined;
  return {
    now: () => new Date(machine.now().getTime() - offset),
    offsetMs: () => offset,
    async align() {
      await align();
      if (!timer) {
        timer = setInterval(() => void align(), opts.everyMs);
        timer.unref();
      }
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
