/**
 * The audit search part of the store contract: every filter, alone and
 * combined, over requests and events written through the store itself, and
 * request listing by tag. `rows` (optional) counts a table's rows, so that
 * what the index costs per request can be seen.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditQuery, RequestQuery, Store } from '../../src/core/ports.ts';
import { agent, approveDecision, at, auditDraft, human, requestRecord } from '../support/fixtures.ts';

export function searchContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void>; rows?(table: string): Promise<number> }>): void {
  describe(`${name}: audit search`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let rows: ((table: string) => Promise<number>) | undefined;
    const listed = async (q: RequestQuery) => (await store.listRequests(q)).map((r) => r.id);
    const billing = { name: 'billing-db', kind: 'postgres' as const, tags: { data: 'pii', compliance: ['soc2', 'gdpr'] } };
    const seqs = async (q: AuditQuery) => (await store.searchAudit(q)).map((e) => e.seq);
    const types = async (q: AuditQuery) => (await store.searchAudit(q)).map((e) => `${e.requestId}:${e.type}`);

    beforeEach(async () => {
      ({ store, cleanup, rows } = await make());
      // r1: billing-db (pii, [soc2, gdpr]) by deploy-bot for alice, approved by bob at +10s
      // r2: orders-db (prod) by other-bot, denied by policy at +20s
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

    it('lists requests by tag, a list tag by any of its values, newest first', async () => {
      expect(await listed({ tag: 'compliance=soc2' })).toEqual(['r1']);
      expect(await listed({ tag: 'compliance=gdpr' })).toEqual(['r1']);
      expect(await listed({ tag: 'compliance' })).toEqual(['r1']);
      expect(await listed({ tag: 'compliance=hipaa' })).toEqual([]);
      expect(await listed({ tag: 'env=prod' })).toEqual(['r2']);
      expect(await listed({ tag: 'env' })).toEqual(['r2']);
      await store.insertRequest(requestRecord({ id: 'r3', createdAt: at(40) }), [auditDraft('request.submitted', 'r3', {}, at(40))]);
      expect(await listed({ tag: 'env=prod' })).toEqual(['r3', 'r2']);
      expect(await listed({ tag: 'env=prod', status: ['denied'] })).toEqual(['r2']);
      expect(await listed({ tag: 'env=prod', before: 'r3' })).toEqual(['r2']);
    });

    it('finds a request by its new effect and rules once its decision is replaced, and no longer by the old ones', async () => {
      // A tightened policy, evaluated again before execution, denies what had been approved.
      await store.mutateRequest('r1', (c) => ({
        result: null,
        next: { ...c, status: 'denied', version: c.version + 1, decision: { ...c.decision, effect: 'deny', rules: ['no-pii-exports'], approvers: [] } },
        audit: [auditDraft('request.denied', 'r1', {}, at(40))],
      }));
      expect(await seqs({ effect: 'deny' })).toEqual([1, 2, 3, 4, 5, 6, 8]);
      expect(await seqs({ rule: 'no-pii-exports' })).toEqual([1, 2, 3, 4, 8]);
      expect(await seqs({ effect: 'approve' })).toEqual([]);
      expect(await seqs({ rule: 'prod-writes' })).toEqual([]);
      // Its tags are still its connection's.
      expect(await seqs({ tag: 'compliance=gdpr', effect: 'deny' })).toEqual([1, 2, 3, 4, 8]);
      expect(await listed({ tag: 'data=pii' })).toEqual(['r1']);
      // A request submitted with the old decision still has it.
      await store.insertRequest(requestRecord({ id: 'r3', createdAt: at(50) }), [auditDraft('request.submitted', 'r3', {}, at(50))]);
      expect(await seqs({ rule: 'prod-writes' })).toEqual([9]);
    });

    it('finds requests by a set of terms first seen in a write that failed', async () => {
      // A decision replaced in a write that then fails (bob has already reviewed r1): all of it rolls back.
      const tightened = { ...approveDecision(), effect: 'deny' as const, rules: ['brand-new-rule'], approvers: [] };
      const failed = store.mutateRequest('r1', (c) => ({
        result: null,
        next: { ...c, status: 'denied', version: c.version + 1, decision: tightened },
        review: { requestId: 'r1', reviewer: { id: 'bob', kind: 'human', groups: ['sre'] }, verdict: 'deny', comment: '', digest: c.digest, createdAt: at(40) },
        audit: [auditDraft('request.denied', 'r1', {}, at(40))],
      }));
      await expect(failed).rejects.toMatchObject({ code: 'ALREADY_REVIEWED' });
      expect(await seqs({ rule: 'brand-new-rule' })).toEqual([]);
      expect(await seqs({ rule: 'prod-writes' })).toEqual([1, 2, 3, 4]);
      // A new request insert that fails (its id is taken), with tags no request had.
      const audited = { name: 'audited-db', kind: 'postgres' as const, tags: { audited: 'yes', compliance: ['sox'] } };
      await expect(store.insertRequest(requestRecord({ id: 'r2', connection: audited, createdAt: at(40) }), [])).rejects.toThrow();
      // Requests written afterwards with those sets are found by each of their terms.
      await store.insertRequest(requestRecord({ id: 'r3', connection: billing, decision: tightened, createdAt: at(50) }), [auditDraft('request.denied', 'r3', {}, at(50))]);
      await store.insertRequest(requestRecord({ id: 'r4', connection: audited, createdAt: at(60) }), [auditDraft('request.submitted', 'r4', {}, at(60))]);
      expect(await types({ rule: 'brand-new-rule' })).toEqual(['r3:request.denied']);
      expect(await types({ effect: 'deny', tag: 'compliance=gdpr' })).toEqual(['r3:request.denied']);
      expect(await types({ tag: 'compliance=sox' })).toEqual(['r4:request.submitted']);
      expect(await listed({ tag: 'audited=yes' })).toEqual(['r4']);
      expect(await listed({ tag: 'data=pii' })).toEqual(['r3', 'r1']);
    });

    it('writes and finds a request whose set of terms is large: a connection with many tags of long values', async () => {
      // Values that do not compress (a database index entry has a size limit after compression), 6 KB of terms in all.
      const value = (i: number) => createHash('sha256').update(String(i)).digest('base64');
      const tags = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, value(i)]));
      const wide = { name: 'wide-db', kind: 'postgres' as const, tags };
      await store.insertRequest(requestRecord({ id: 'r3', connection: wide, createdAt: at(40) }), [auditDraft('request.submitted', 'r3', {}, at(40))]);
      await store.insertRequest(requestRecord({ id: 'r4', connection: wide, createdAt: at(50) }), [auditDraft('request.submitted', 'r4', {}, at(50))]);
      expect(await listed({ tag: `k63=${value(63)}` })).toEqual(['r4', 'r3']);
      expect(await types({ tag: 'k0', effect: 'approve' })).toEqual(['r3:request.submitted', 'r4:request.submitted']);
    });

    it('keeps one copy of a shared set of terms, however many requests share it', async () => {
      if (!rows) return;
      const write = (from: number, n: number) =>
        Promise.all(Array.from({ length: n }, (_, i) => store.insertRequest(requestRecord({ id: `shared-${from + i}` }), [auditDraft('request.submitted', `shared-${from + i}`)])));
      await write(0, 1);
      const [sets, members] = [await rows('term_sets'), await rows('term_set_members')];
      await write(1, 50);
      expect(await rows('term_sets')).toBe(sets);
      expect(await rows('term_set_members')).toBe(members);
      // Every one of them is still found by each of its terms.
      expect((await store.listRequests({ tag: 'env=prod', limit: 1000 })).filter((r) => r.id.startsWith('shared-'))).toHaveLength(51);
      expect((await store.searchAudit({ rule: 'prod-writes', effect: 'approve', limit: 1000 })).filter((e) => e.requestId?.startsWith('shared-'))).toHaveLength(51);
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
