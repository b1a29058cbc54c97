/**
 * The Leases contract: background work runs in one process at a time, and
 * passes to another when its holder goes. Run against every adapter with
 * several instances on one shared store, as replicas or workers would be.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Leases } from '../../src/core/ports.ts';
import { eventually } from '../support/gateway.ts';

export interface LeasesUnderTest {
  /** The leases of one more process on the shared store. */
  open(): Promise<Leases>;
  /**
   * The holder goes without closing (crash, lost network): its connection is
   * cut, or it stops renewing. Absent where a holder cannot go but by closing.
   */
  vanish?(leases: Leases): Promise<void>;
  cleanup(): Promise<void>;
}

/** `holderCanVanish`: a holder can go without closing (a process or connection lost); not so in one process's memory. */
export function leasesContract(name: string, make: () => Promise<LeasesUnderTest>, opts: { holderCanVanish: boolean }): void {
  describe(`Leases contract: ${name}`, () => {
    let under: LeasesUnderTest;
    const opened: Leases[] = [];
    const open = async () => {
      const l = await under.open();
      opened.push(l);
      return l;
    };

    beforeEach(async () => {
      under = await make();
    });
    afterEach(async () => {
      for (const l of opened.splice(0)) await l.close();
      await under.cleanup();
    });

    it('has one holder per job; the holder keeps it on its next try', async () => {
      const a = await open();
      const b = await open();
      expect(await a.tryLead('expiry')).toBe(true);
      expect(await b.tryLead('expiry')).toBe(false);
      expect(await a.tryLead('expiry')).toBe(true);
      expect(await b.tryLead('expiry')).toBe(false);
    });

    it('leases each job apart', async () => {
      const a = await open();
      const b = await open();
      expect(await a.tryLead('expiry')).toBe(true);
      expect(await b.tryLead('checkpoint')).toBe(true);
      expect(await a.tryLead('checkpoint')).toBe(false);
    });

    it('gives a job to exactly one of many processes trying at once', async () => {
      const all = await Promise.all([open(), open(), open(), open()]);
      const won = await Promise.all(all.map((l) => l.tryLead('sweep')));
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    it('hands the job over when its holder closes', async () => {
      const a = await open();
      const b = await open();
      expect(await a.tryLead('expiry')).toBe(true);
      expect(await b.tryLead('expiry')).toBe(false);
      await a.close();
      expect(await b.tryLead('expiry')).toBe(true);
      expect(await a.tryLead('expiry')).toBe(false);
    });

    // Only registered where it applies: a test skipped would read as untested.
    if (opts.holderCanVanish) it('lets another take over when the holder goes without closing, and the old holder then leads no more', async () => {
      if (!under.vanish) throw new Error('an adapter whose holder can vanish says how');
      const a = await open();
      const b = await open();
      expect(await a.tryLead('expiry')).toBe(true);
      expect(await b.tryLead('expiry')).toBe(false);
      await under.vanish(a);
      await eventually(async () => ((await b.tryLead('expiry')) ? true : undefined), 10_000);
      expect(await a.tryLead('expiry')).toBe(false);
      expect(await b.tryLead('expiry')).toBe(true);
    });
  });
}
