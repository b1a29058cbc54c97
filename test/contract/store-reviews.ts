/**
 * The reviews part of the store contract: the store itself refuses a second review of one request by one person,
 * whatever id each review names them by. A person is the identity keys core/human-identity.ts gives (their id, their
 * email and its mailbox, their token's issuer and subject): two reviews sharing one are one person's, as the review
 * use case judges them. So a check made on a stale read of the reviews (another replica's commit not yet seen) still
 * cannot record one person twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mutation, Store } from '../../src/core/ports.ts';
import type { RequestRecord } from '../../src/core/request.ts';
import type { Review } from '../../src/core/review.ts';
import { approveDecision, at, auditDraft } from '../support/fixtures.ts';
import { allAudit, submitted } from './store-fixtures.ts';

type Reviewer = Review['reviewer'];

/** A mutation that records `reviewer`'s approval and keeps the request pending (a quorum of two). */
function approvalBy(reviewer: Reviewer) {
  return (current: RequestRecord): Mutation<null> => {
    const review: Review = { requestId: current.id, reviewer, verdict: 'approve', comment: '', digest: current.digest, createdAt: at(10 + current.reviews.length) };
    const next = { ...current, reviews: [...current.reviews, review], version: current.version + 1 };
    return { result: null, next, review, audit: [auditDraft('review.recorded', current.id, { by: reviewer.id })] };
  };
}

const person = (id: string, more: Partial<Reviewer> = {}): Reviewer => ({ id, kind: 'human', groups: ['sre'], ...more });

export function reviewsContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: one review per person`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, cleanup } = await make()));
    afterEach(async () => cleanup());

    const twice: [string, Reviewer, Reviewer][] = [
      ['a sub-address of the same mailbox', person('dana@example.com', { email: 'dana@example.com' }), person('dana+ops@example.com', { email: 'Dana+Ops@Example.com' })],
      ['a configured id and the email it is configured with', person('erin', { email: 'erin@example.com' }), person('erin@example.com', { email: 'erin@example.com' })],
      ['one token subject under two ids', person('frank', { identity: { issuer: 'https://idp.example', subject: '00u1' } }), person('frank-2', { identity: { issuer: 'https://idp.example', subject: '00u1' } })],
    ];
    for (const [what, first, second] of twice) {
      it(`refuses a second review by ${what} with ALREADY_REVIEWED and writes nothing of it`, async () => {
        const r = await submitted(store, { decision: approveDecision(['sre'], 2) });
        await store.mutateRequest(r.id, approvalBy(first));
        const once = await store.getRequest(r.id);
        await expect(store.mutateRequest(r.id, approvalBy(second))).rejects.toMatchObject({ code: 'ALREADY_REVIEWED' });
        expect(await store.getRequest(r.id)).toEqual(once);
        expect(once?.reviews.map((v) => v.reviewer.id)).toEqual([first.id]);
        expect((await allAudit(store)).map((e) => e.type)).toEqual(['request.created', 'review.recorded']);
      });
    }

    it('records two people, and the same person on another request', async () => {
      const [r1, r2] = [await submitted(store, { id: 'req_one', decision: approveDecision(['sre'], 2) }), await submitted(store, { id: 'req_two', decision: approveDecision(['sre'], 2) })];
      await store.mutateRequest(r1.id, approvalBy(person('gina', { email: 'gina@example.com' })));
      await store.mutateRequest(r1.id, approvalBy(person('hal', { email: 'hal@example.com' })));
      await store.mutateRequest(r2.id, approvalBy(person('gina', { email: 'gina@example.com' })));
      expect((await store.getRequest(r1.id))?.reviews.map((v) => v.reviewer.id)).toEqual(['gina', 'hal']);
      expect((await store.getRequest(r2.id))?.reviews.map((v) => v.reviewer.id)).toEqual(['gina']);
    });
  });
}
