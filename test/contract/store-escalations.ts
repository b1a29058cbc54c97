/**
 * The Store contract for escalation: the store names the pending requests
 * with a rung due, from a column it keeps with every write of the request,
 * so a sweep reads what is due and nothing of the rest of what is pending.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports.ts';
import type { RequestRecord } from '../../src/core/request.ts';
import { escalationMutation } from '../../src/service/escalate.ts';
import { approveDecision, at, FIXTURE_TIME } from '../support/fixtures.ts';
import { approveBy, carol, submitted } from './store-fixtures.ts';

const ladder = (...afterSeconds: number[]): Partial<RequestRecord> => ({
  decision: {
    ...approveDecision(),
    escalations: afterSeconds.map((s, i) => ({ key: `prod-writes#${i + 1}`, rule: 'prod-writes', afterSeconds: s, groups: ['dba'], principals: [] })),
  },
});
const later = (seconds: number) => new Date(FIXTURE_TIME.getTime() + seconds * 1000);

/** Registers the escalation cases inside a store's contract suite; `store()` is the store of the running case. */
export function storeEscalationContract(store: () => Store): void {
  describe('escalations due', () => {
    it('names pending requests whose next rung is due, soonest first, and none without a ladder or past their expiry', async () => {
      const soon = await submitted(store(), ladder(60));
      const sooner = await submitted(store(), ladder(30));
      const notYet = await submitted(store(), ladder(600));
      await submitted(store());
      await submitted(store(), { ...ladder(60), status: 'approved' });
      await submitted(store(), { ...ladder(60), expiresAt: at(90) });

      expect(await store().escalationsDue(later(59), 10)).toEqual([sooner.id]);
      expect(await store().escalationsDue(later(100), 10)).toEqual([sooner.id, soon.id]);
      expect(await store().escalationsDue(later(100), 1)).toEqual([sooner.id]);
      expect(await store().escalationsDue(later(600), 10)).toEqual([sooner.id, soon.id, notYet.id]);
    });

    it('moves a request to its next rung when one fires, and off the list when it leaves pending', async () => {
      const r = await submitted(store(), ladder(60, 300));
      await store().mutateRequest(r.id, (current) => escalationMutation(current, later(61)));
      expect(await store().escalationsDue(later(100), 10)).toEqual([]);
      expect(await store().escalationsDue(later(300), 10)).toEqual([r.id]);
      await store().mutateRequest(r.id, approveBy(carol));
      expect(await store().escalationsDue(later(3000), 10)).toEqual([]);
    });
  });
}
