/**
 * The Store contract for resume keys (core/resume-key.ts): one live request
 * (pending, approved, executing) per principal and resume key; of racing
 * inserts, exactly one lands, and a request that ended frees its key.
 */
import { describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../src/core/audit.ts';
import type { Store } from '../../src/core/ports.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { ResumeKeyTaken } from '../../src/core/resume-key.ts';
import { agent, auditDraft, FIXTURE_TIME, requestRecord } from '../support/fixtures.ts';
import { allAudit, approveBy, carol, submitted } from './store-fixtures.ts';

const moveTo = (status: RequestRecord['status']) => (current: RequestRecord) => ({ result: status, next: transition(current, status, FIXTURE_TIME), audit: [auditDraft(`request.${status}`, current.id)] });

/** Registers the resume-key cases inside a store's contract suite; `store()` is the store of the running case. */
export function storeResumeContract(store: () => Store): void {
  describe('resume keys', () => {
    it('lets exactly one of 20 concurrent inserts of one resume key in, beside unkeyed requests of the same digest that all land', async () => {
      const keyed = Array.from({ length: 20 }, () => requestRecord({ resumeKey: 'rk-race' }));
      const plain = Array.from({ length: 5 }, () => requestRecord());
      const settled = await Promise.allSettled([...keyed, ...plain].map((r) => store().insertRequest(r, [auditDraft('request.submitted', r.id)])));
      const won = keyed.filter((_, i) => settled[i]!.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const s of settled.slice(0, 20)) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(ResumeKeyTaken);
      expect(settled.slice(20).every((s) => s.status === 'fulfilled')).toBe(true);
      expect(await store().listRequests({ limit: 100 })).toHaveLength(6);
      expect((await store().getRequest(won[0]!.id))?.resumeKey).toBe('rk-race');
      const events = await allAudit(store());
      expect(events).toHaveLength(6);
      const verifier = createChainVerifier();
      for (const x of events) expect(verifier.push(x)).toBeNull();
    });

    it('holds the key while the request is approved or running, and frees it once the request ended', async () => {
      const first = await submitted(store(), { resumeKey: 'rk-1' });
      const again = () => submitted(store(), { resumeKey: 'rk-1' });
      await expect(again()).rejects.toBeInstanceOf(ResumeKeyTaken);
      await store().mutateRequest(first.id, approveBy(carol));
      await expect(again()).rejects.toBeInstanceOf(ResumeKeyTaken);
      await store().mutateRequest(first.id, moveTo('executing'));
      await expect(again()).rejects.toBeInstanceOf(ResumeKeyTaken);
      await store().mutateRequest(first.id, moveTo('succeeded'));
      const second = await again();
      await store().mutateRequest(second.id, moveTo('cancelled'));
      const third = await again();
      expect((await store().getRequest(third.id))?.status).toBe('pending');
      // Refused inserts wrote nothing: three requests, each with its own events.
      expect(await store().listRequests({ limit: 100 })).toHaveLength(3);
    });

    it("is one principal's: another principal's request under the same key string lands", async () => {
      await submitted(store(), { resumeKey: 'rk-2' });
      const theirs = await submitted(store(), { resumeKey: 'rk-2', principal: agent('other-bot', null) });
      expect((await store().getRequest(theirs.id))?.status).toBe('pending');
    });
  });
}
