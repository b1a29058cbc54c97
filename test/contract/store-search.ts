/**
 * The audit search part of the store contract: every filter, alone and
 * combined, over requests and events written through the store itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditQuery, RequestQuery, Store } from '../../src/core/ports.ts';
import { agent, approveDecision, at, auditDraft, human, requestRecord } from '../support/fixtures.ts';

export function searchContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: audit search`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const seqs = async (q: AuditQuery) => (await store.searchAudit(q)).map((e) => e.seq);
    const types = async (q: AuditQuery) => (await store.searchAudit(q)).map((e) => `${e.requestId}:${e.type}`);

    beforeEach(async () => {
      ({ store, cleanup } = await make());
      // r1: billing-db (pii, [soc2, gdpr]) by deploy-bot for alice, approved by bob at +10s
      // r2: orders-db (prod) by other-bot, denied by policy at +20s
      const billing = { name: 'billing-db', kind: 'postgres' as const, tags: { data: 'pii', compliance: ['soc2', 'gdpr'] } };
      await store.insertRequest(requestRecord({ id: 'r1', connection: billing, action: { ...requestRecord().action, connection: 'billing-db' }, createdAt: at(0) }), [auditDraft('request.submitted', 'r1', {}, at(0)), auditDraft('request.held', 'r1', {}, at(0))]);
      await store.mutateRequest('r1', (c) => ({
        result: null,
        next: { ...c, status: 'approved', version: c.version + 1 },
        review: { requestId: 'r1', reviewer: { id: 'bob', kind: 'human', groups: ['sre'] }, verdict: 'approve', comment: '', digest: c.digest, createdAt: at(10) },
        audit: [{ ...auditDraft('review.recorded', 'r1', { verdict: 'approve' }, at(10)), actor: 'bob' }, auditDraft('request.approved', 'r1', { approvers: ['bob'] }, at(10))],
      }));
      await store.insertRequest(
        requestRecord({ id: 'r2', status: 'denied', principal: agent('other-bot', null), decision: { ...approveDecision(), effect: 'deny', rules: ['no-drop'], approvers: [] }, createdAt: at(20) }),
        [auditDraft('request.submitted', 'r2', {}, at(20)), auditDraft('request.denied', 'r2', {}, at(20))],
      );
      await store.appendAudit([{ ...auditDraft('policy.loaded', null, {}, at(30)), actor: human('carol').id }]);
    });
    afterEach(async () => cleanup());

    it('filters by time (from inclusive, to exclusive), type and request', async () => {
      expect(await seqs({ from: at(10), to: at(30) })).toEqual([3, 4, 5, 6]);
      expect(await types({ types: ['request.approved', 'request.denied'] })).toEqual(['r1:request.approved', 'r2:request.denied']);
      expect(await seqs({ requestId: 'r2' })).toEqual([5, 6]);
    });

    it('filters by the request: principal, acts-for, connection, tag (list values too), effect, rule, status', async () => {
      expect(await seqs({ principal: 'other-bot' })).toEqual([5, 6]);
      expect(await seqs({ actsFor: 'alice' })).toEqual([1, 2, 3, 4]);
      expect(await seqs({ connection: 'billing-db', types: ['request.approved'] })).toEqual([4]);
      expect(await seqs({ tag: 'data=pii' })).toEqual([1, 2, 3, 4]);
      expect(await seqs({ tag: 'compliance=gdpr' })).toEqual([1, 2, 3, 4]);
      expect(await seqs({ tag: 'compliance' })).toEqual([1, 2, 3, 4]);
      expect(await seqs({ tag: 'env=prod' })).toEqual([5, 6]);
      expect(await seqs({ effect: 'deny' })).toEqual([5, 6]);
      expect(await seqs({ rule: 'prod-writes' })).toEqual([1, 2, 3, 4]);
      expect(await seqs({ status: 'approved' })).toEqual([1, 2, 3, 4]);
    });

    it('finds a reviewer’s reviews, and answers "who approved on billing-db in this period" in one call', async () => {
      expect(await types({ reviewer: 'bob' })).toEqual(['r1:review.recorded']);
      expect(await seqs({ reviewer: 'carol' })).toEqual([]);
      const answer = await store.searchAudit({ connection: 'billing-db', types: ['request.approved'], from: at(0), to: at(60) });
      expect(answer.map((e) => e.data)).toEqual([{ approvers: ['bob'] }]);
    });

    it('finds the first event at or after a time, and the end of the log past the last one', async () => {
      expect(await store.firstSeqAtOrAfter(at(-5))).toBe(1);
      expect(await store.firstSeqAtOrAfter(at(0))).toBe(1);
      expect(await store.firstSeqAtOrAfter(at(5))).toBe(3);
      expect(await store.firstSeqAtOrAfter(at(20))).toBe(5);
      expect(await store.firstSeqAtOrAfter(at(31))).toBe(8);
    });

    it('takes every filter as plain text: wildcards, quotes and backslashes match only themselves, a NUL matches nothing', async () => {
      const odd = ['%', '_', '*', '.*', "'", "' OR '1'='1", '\\', 'b%', 'b_b', 'r_', 'data=%', 'data=pi_', 'compliance=%', 'prod-%', '\u0000', 'bob\u0000', 'r1\u0000'];
      for (const x of odd) {
        for (const q of [{ principal: x }, { actsFor: x }, { connection: x }, { tag: x }, { rule: x }, { status: x }, { reviewer: x }, { requestId: x }, { types: [x] }] as AuditQuery[]) {
          expect(await seqs(q), JSON.stringify(q)).toEqual([]);
        }
        for (const q of [{ involving: x }, { connection: x }, { tag: x }, { before: x }, { status: [x] }] as RequestQuery[]) {
          expect(await store.listRequests(q), JSON.stringify(q)).toEqual([]);
        }
        expect(await store.getRequest(x)).toBeUndefined();
        expect(await store.findRequestByDigest(x, x, ['pending', 'approved'])).toBeUndefined();
        await expect(store.mutateRequest(x, () => ({ result: null, audit: [] }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      }
      // The real values still match.
      expect(await seqs({ reviewer: 'bob', tag: 'data=pii' })).toEqual([3]);
    });

    it('pages with afterSeq and limit, and returns the stored bytes', async () => {
      expect(await seqs({ limit: 2 })).toEqual([1, 2]);
      expect(await seqs({ afterSeq: 2, limit: 2 })).toEqual([3, 4]);
      const [e] = await store.searchAudit({ requestId: 'r2', limit: 1 });
      expect((await store.readAudit(5, 1))[0]?.body).toBe(e?.body);
    });
  });
}
