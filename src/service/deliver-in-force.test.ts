/**
 * A delivery leased under a config that another gateway replaces before it
 * is sent. The lease is taken only under the config in force, but a process
 * then reads the request and its channel messages before it sends: a gateway
 * started meanwhile with the webhook moved (or the channel removed) must not
 * see the card go to where the operator took it from. The process checks the
 * config in force again just before it sends, and hands the row back, owed,
 * to a process on the config as it is now.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryNotifier } from '../adapters/notifier/memory.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import type { Channel } from '../core/channel.ts';
import type { OutboxDelivery, OutboxRouter } from '../core/outbox.ts';
import type { Store } from '../core/ports.ts';
import { auditDraft, requestRecord } from '../../test/support/fixtures.ts';
import { manualClock } from '../../test/support/clock.ts';
import { configInForce, takeConfigInForce } from './config-in-force.ts';
import { deliverDue } from './deliver.ts';
import type { Deps } from './deps.ts';

const router: OutboxRouter = (e) => (e.requestId === null ? [] : [{ channel: 'webhook:ops', event: e.type, requestId: e.requestId, payload: {}, createdAt: e.time }]);
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** The channel as the outside sees it: what reached it. */
function recordingChannel(): Channel & { sent: OutboxDelivery[] } {
  const sent: OutboxDelivery[] = [];
  return { name: 'webhook:ops', wants: () => true, deliver: async (d) => void sent.push(d), sent };
}

/** The store as one process sees it, with another gateway taking over with config `next` the first time it reads a request. */
function takenOverOnRead(store: Store, next: string): Store {
  let done = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'getRequest') return Reflect.get(target, prop, receiver);
      return async (id: string) => {
        if (!done) {
          done = true;
          await takeConfigInForce(store, next);
        }
        return store.getRequest(id);
      };
    },
  });
}

function depsOf(store: Store, generation: string, clock = manualClock()): Deps {
  return { store, notifier: createMemoryNotifier(), clock, log: pino({ level: 'silent' }), inForce: configInForce(store, generation) } as unknown as Deps;
}

describe('a delivery leased just before another gateway took over with a newer config', () => {
  it('is not sent by the process on the old config, and is sent by one on the new config', async () => {
    const store = createSqliteStore({ path: ':memory:', outbox: router });
    stores.push(store);
    await takeConfigInForce(store, 'gen-old');
    const r = requestRecord();
    await store.insertRequest(r, [auditDraft('request.held', r.id, {})]);

    const clock = manualClock();
    const oldChannel = recordingChannel();
    const opts = (channel: Channel) => ({ channels: new Map([[channel.name, channel]]), requestUrl: (id: string) => `/requests/${id}` });
    expect(await deliverDue(depsOf(takenOverOnRead(store, 'gen-new'), 'gen-old', clock), opts(oldChannel))).toBe(1);
    expect(oldChannel.sent).toEqual([]);

    // Owed still, and due now to a process on the config in force, with no wait for the old lease.
    const newChannel = recordingChannel();
    expect(await deliverDue(depsOf(store, 'gen-new', clock), opts(newChannel))).toBe(1);
    expect(newChannel.sent.map((d) => [d.requestId, d.event])).toEqual([[r.id, 'request.held']]);
    expect(oldChannel.sent).toEqual([]);
  });
});
