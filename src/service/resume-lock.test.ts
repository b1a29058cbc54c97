import { expect, it } from 'vitest';
import type { Deps } from './deps.ts';
import { takeResumeLock } from './resume-lock.ts';

const deps = { store: {} } as unknown as Deps;

it('lets one holder of a key in at a time, in order, and other keys through at once', async () => {
  const order: string[] = [];
  const first = await takeResumeLock(deps, 'bot\nsha256:a');
  const second = takeResumeLock(deps, 'bot\nsha256:a').then((release) => {
    order.push('second');
    return release;
  });
  const other = await takeResumeLock(deps, 'bot\nsha256:b');
  order.push('other');
  first();
  first(); // a second release changes nothing
  (await second)();
  other();
  expect(order).toEqual(['other', 'second']);
  // Released by all: taken again at once.
  (await takeResumeLock(deps, 'bot\nsha256:a'))();
});
