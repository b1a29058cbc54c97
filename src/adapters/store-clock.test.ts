import { afterEach, expect, it } from 'vitest';
import { storeClock, type StoreClock } from './store-clock.ts';

let clock: StoreClock | undefined;
afterEach(() => clock?.stop());

/** A machine clock the test moves, and a database clock `aheadMs` ahead of it whose answer takes `tripMs`. */
function rig(ahead: number) {
  let aheadMs = ahead;
  let t = 1_700_000_000_000;
  let tripMs = 4;
  const machine = { now: () => new Date(t) };
  const storeTime = async () => {
    t += tripMs / 2;
    const at = new Date(t + aheadMs);
    t += tripMs / 2;
    return at;
  };
  return { machine, storeTime, move: (ms: number) => (t += ms), slow: (ms: number) => (tripMs = ms), jump: (ms: number) => (aheadMs = ms) };
}

it('reads the machine clock set to the database time, measured at the middle of the round trip', async () => {
  const r = rig(-600_000);
  clock = storeClock(r.machine, r.storeTime, { everyMs: 60_000 });
  await clock.align();
  expect(clock.offsetMs()).toBe(600_000);
  expect(clock.now().getTime()).toBe(r.machine.now().getTime() - 600_000);
  r.move(1500);
  expect(clock.now().getTime()).toBe(r.machine.now().getTime() - 600_000);
});

it('keeps the last offset when a later measurement is slow or fails', async () => {
  const r = rig(2000);
  const errors: unknown[] = [];
  let failing = false;
  clock = storeClock(r.machine, async () => (failing ? Promise.reject(new Error('down')) : r.storeTime()), { everyMs: 60_000, onError: (e) => errors.push(e) });
  await clock.align();
  expect(clock.offsetMs()).toBe(-2000);
  // Its answer would say 9 s, but the round trip took 5 s: the error could be as large, so it is not taken.
  r.slow(5000);
  r.jump(9000);
  await clock.align();
  expect(clock.offsetMs()).toBe(-2000);
  failing = true;
  await clock.align();
  expect(clock.offsetMs()).toBe(-2000);
  expect(errors).toHaveLength(1);
});
