/** Records and mutations the store contract suites share. */
import type { AuditEvent } from '../../src/core/audit.ts';
import type { Mutation, Store } from '../../src/core/ports.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { auditDraft, FIXTURE_TIME, human, requestRecord, reviewOf } from '../support/fixtures.ts';

export const carol = human('carol', ['sre']);
export const dave = human('dave', ['sre']);

export async function allAudit(store: Store): Promise<AuditEvent[]> {
  return store.readAudit(1, 100_000);
}

/** Inserts a request with its one `request.created` event. */
export async function submitted(store: Store, overrides: Partial<RequestRecord> = {}): Promise<RequestRecord> {
  const r = requestRecord(overrides);
  await store.insertRequest(r, [auditDraft('request.created', r.id, { status: r.status })]);
  return r;
}

/** A mutation that records one approving review and moves the request to approved. */
export function approveBy(reviewer: typeof carol) {
  return (current: RequestRecord): Mutation<string> => {
    const review = reviewOf(current, reviewer);
    const next = { ...transition(current, 'approved', FIXTURE_TIME), reviews: [...current.reviews, review] };
    return { result: 'approved', next, review, audit: [auditDraft('review.recorded', current.id, { by: reviewer.id })] };
  };
}
