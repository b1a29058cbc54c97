/**
 * The Store contract for a request change made only under a meta value (a
 * run's claim under the config in force, service/config-in-force.ts): read in
 * the change's own transaction, so a change of that value lands wholly before
 * or wholly after it, never in between.
 */
import { describe, expect, it } from 'vitest';
import type { MetaCondition, Mutation, Store } from '../../src/core/ports.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { auditDraft, FIXTURE_TIME } from '../support/fixtures.ts';
import { allAudit, submitted } from './store-fixtures.ts';

const KEY = 'config.generation';
const under = (value: string): MetaCondition => ({ key: KEY, value, refuse: (found) => new Error(`in force: ${found ?? 'none'}`) });
const claim = (current: RequestRecord): Mutation<string> => ({
  result: 'claimed',
  next: transition(current, 'executing', FIXTURE_TIME),
  audit: [auditDraft('request.executing', current.id)],
});

/** Registers the cases inside a store's contract suite; `store()` is the store of the running case. */
export function storeConditionContract(store: () => Store): void {
  describe('a request change under a meta value', () => {
    it('is written while the value stands, and refused with nothing written once it changed (or was never set)', async () => {
      const r = await submitted(store(), { status: 'approved' });
      await expect(store().mutateRequest(r.id, claim, undefined, under('gen-1'))).rejects.toThrow('in force: none');
      await store().appendAudit([], { [KEY]: 'gen-1' });
      await store().appendAudit([], { [KEY]: 'gen-2' });
      await expect(store().mutateRequest(r.id, claim, undefined, under('gen-1'))).rejects.toThrow('in force: gen-2');
      expect(await store().getRequest(r.id)).toEqual(r);
      expect((await allAudit(store())).map((e) => e.type)).toEqual(['request.created']);
      expect(await store().mutateRequest(r.id, claim, undefined, under('gen-2'))).toBe('claimed');
      expect((await store().getRequest(r.id))?.status).toBe('executing');
    });

    it('racing a change of the value: every change written under the old value is in the log before the change', async () => {
      await store().appendAudit([], { [KEY]: 'gen-1' });
      const rs = await Promise.all(Array.from({ length: 12 }, () => submitted(store(), { status: 'approved' })));
      const claims = rs.map((r) => store().mutateRequest(r.id, claim, undefined, under('gen-1')).catch((e: unknown) => (e as Error).message));
      const change = store().appendAudit([auditDraft('config.loaded', null)], { [KEY]: 'gen-2' });
      const outcomes = await Promise.all([...claims, change]);
      expect(outcomes.slice(0, -1).filter((o) => o !== 'claimed' && o !== 'in force: gen-2')).toEqual([]);
      const log = (await allAudit(store())).map((e) => e.type);
      const changedAt = log.indexOf('config.loaded');
      expect(log.lastIndexOf('request.executing')).toBeLessThan(changedAt);
      expect(log.filter((t) => t === 'request.executing')).toHaveLength(outcomes.filter((o) => o === 'claimed').length);
    });
  });
}
