/**
 * The Notifier contract: a waiter hears about a change to its request. In one
 * process, the record published; in another process on the same store, the
 * record as the store holds it now, read back after the announcement.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../../src/core/ports.ts';
import type { RequestRecord } from '../../src/core/request.ts';
import { requestRecord } from '../support/fixtures.ts';

export interface NotifierUnderTest {
  a: Notifier;
  /** The notifier of another process on the same store, when the adapter spans processes. */
  b?: Notifier;
  /** Makes `r` the request as the store holds it now (what another process reads back). */
  save(r: RequestRecord): void;
  cleanup(): Promise<void>;
}

/** Resolves with what the next call of the returned listener receives. */
function next(): { listener: (r: RequestRecord) => void; received: Promise<RequestRecord>; all: RequestRecord[] } {
  const all: RequestRecord[] = [];
  let resolve!: (r: RequestRecord) => void;
  const received = new Promise<RequestRecord>((r) => (resolve = r));
  return {
    all,
    received,
    listener: (r) => {
      all.push(r);
      resolve(r);
    },
  };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not received within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** `spansProcesses`: the adapter wakes other processes (its factory gives `b`); the memory one does not. */
export function notifierContract(name: string, make: () => Promise<NotifierUnderTest>, opts: { spansProcesses: boolean }): void {
  describe(`Notifier contract: ${name}`, () => {
    let under: NotifierUnderTest;
    beforeEach(async () => {
      under = await make();
    });
    afterEach(async () => {
      await under.cleanup();
    });

    it('hands a published request to the subscribers of its id at once, and to no other', () => {
      const r = requestRecord();
      const mine = next();
      const other = next();
      under.a.subscribe(r.id, mine.listener);
      under.a.subscribe('req_other', other.listener);
      under.a.publish(r);
      expect(mine.all).toEqual([r]);
      expect(other.all).toEqual([]);
    });

    it('hands every published request to subscribeAll', () => {
      const everything = next();
      under.a.subscribeAll(everything.listener);
      const [r1, r2] = [requestRecord(), requestRecord()];
      under.a.publish(r1);
      under.a.publish(r2);
      expect(everything.all.map((r) => r.id)).toEqual([r1.id, r2.id]);
    });

    it('stops calling a listener once it unsubscribes', () => {
      const r = requestRecord();
      const one = next();
      const all = next();
      const stopOne = under.a.subscribe(r.id, one.listener);
      const stopAll = under.a.subscribeAll(all.listener);
      under.a.publish(r);
      stopOne();
      stopAll();
      under.a.publish({ ...r, version: r.version + 1 });
      expect(one.all).toHaveLength(1);
      expect(all.all).toHaveLength(1);
    });

    // Only registered where it applies: a test skipped would read as untested.
    if (opts.spansProcesses) describe('across processes', () => {
      it('wakes a subscriber of another instance with the request as stored now', async () => {
        if (!under.b) throw new Error('a notifier that spans processes gives a second instance');
        const r = requestRecord();
        const stored = { ...r, status: 'approved' as const, version: r.version + 2 };
        under.save(stored);
        const there = next();
        under.b!.subscribe(r.id, there.listener);
        // Published with an older version: the other process trusts the store, not the message.
        under.a.publish({ ...r, version: r.version + 1 });
        expect(await within(there.received, 5000, 'the remote change')).toEqual(stored);
      });

      it("reaches another instance's subscribeAll", async () => {
        if (!under.b) throw new Error('a notifier that spans processes gives a second instance');
        const r = requestRecord();
        under.save(r);
        const everything = next();
        under.b!.subscribeAll(everything.listener);
        under.a.publish(r);
        expect(await within(everything.received, 5000, 'the remote change')).toEqual(r);
      });

      it('wakes no listener that unsubscribed, and a process does not hear its own change twice', async () => {
        if (!under.b) throw new Error('a notifier that spans processes gives a second instance');
        const [gone, kept] = [requestRecord(), requestRecord()];
        under.save(gone);
        under.save(kept);
        const goneThere = next();
        const keptThere = next();
        under.b!.subscribe(gone.id, goneThere.listener)();
        under.b!.subscribe(kept.id, keptThere.listener);
        const here = next();
        under.a.subscribe(gone.id, here.listener);
        under.a.publish(gone);
        under.a.publish(kept);
        // Announcements arrive in order: once `kept` is in, `gone` was seen and dropped.
        await within(keptThere.received, 5000, 'the later change');
        expect(goneThere.all).toEqual([]);
        // And a change from b after both: by the time a hears it, its own echo of `gone` has come and gone.
        const back = requestRecord();
        under.save(back);
        const backHere = next();
        under.a.subscribe(back.id, backHere.listener);
        under.b!.publish(back);
        await within(backHere.received, 5000, 'the change from the other instance');
        expect(here.all).toEqual([gone]);
      });
    });
  });
}
