/**
 * The outbox worker's wake-ups: each pass is a write transaction, so request
 * changes wake it only when some channel could be owed something; with none,
 * its retry timer alone runs.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryNotifier } from '../adapters/notifier/memory.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import type { Channel } from '../core/channel.ts';
import type { RequestRecord } from '../core/request.ts';
import { manualClock } from '../../test/support/clock.ts';
import { startDeliveryWorker } from './deliver.ts';
import type { Deps } from './deps.ts';

/** Runs the worker for 10 request changes; returns how many passes claimed deliveries. */
async function passesFor(channels: ReadonlyMap<string, Channel>): Promise<number> {
  const store = createSqliteStore({ path: ':memory:' });
  let claims = 0;
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'claimDeliveries') {
        return (...args: Parameters<typeof store.claimDeliveries>) => {
          claims++;
          return store.claimDeliveries(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const notifier = createMemoryNotifier();
  const deps = { store: counting, notifier, clock: manualClock(), log: pino({ level: 'silent' }) } as unknown as Deps;
  // A timer far beyond the test: only the start and the wake-ups can pass.
  const stop = startDeliveryWorker(deps, { channels, requestUrl: (id) => `/requests/${id}`, intervalMs: 3_600_000 });
  try {
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 10; i++) {
      notifier.publish({ id: `req_${i}` } as RequestRecord);
      await new Promise((r) => setTimeout(r, 5));
    }
    return claims;
  } finally {
    await stop();
    await store.close();
  }
}

describe('startDeliveryWorker', () => {
  it('is not woken by request changes when no channel is configured: one pass at start', async () => {
    expect(await passesFor(new Map())).toBe(1);
  });

  it('is woken by every request change when a channel is configured', async () => {
    const channel: Channel = { name: 'webhook', deliver: async () => {} } as unknown as Channel;
    // Wake-ups that arrive while a pass runs are folded into one more pass, so at least one beyond the first.
    expect(await passesFor(new Map([['webhook', channel]]))).toBeGreaterThan(1);
  });
});
