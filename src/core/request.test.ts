import { describe, expect, it } from 'vitest';
import { requestRecord } from '../../test/support/fixtures.ts';
import { canTransition, REQUEST_STATUSES, TERMINAL_STATUSES, transition, type RequestStatus } from './request.ts';

/** The whole state machine, written out: anything not here must be refused. */
const ALLOWED: readonly (readonly [RequestStatus, RequestStatus])[] = [
  ['pending', 'approved'],
  ['pending', 'denied'],
  ['pending', 'expired'],
  ['pending', 'cancelled'],
  ['approved', 'executing'],
  ['approved', 'denied'], // the policy tightened before execution and now denies
  ['approved', 'pending'], // the policy tightened and the reviews no longer meet it
  ['approved', 'expired'], // bound to a client session that did not run it before its time to live
  ['executing', 'succeeded'],
  ['executing', 'failed'],
];

const isAllowed = (from: RequestStatus, to: RequestStatus) => ALLOWED.some(([f, t]) => f === from && t === to);
const ALL_PAIRS = REQUEST_STATUSES.flatMap((from) => REQUEST_STATUSES.map((to) => [from, to] as const));
const REFUSED = ALL_PAIRS.filter(([from, to]) => !isAllowed(from, to));

const now = new Date('2025-06-01T13:00:00.000Z');

describe('request state machine', () => {
  it.each(ALLOWED)('allows %s → %s', (from, to) => {
    const before = requestRecord({ status: from, version: 3 });
    const after = transition(before, to, now);
    expect(canTransition(from, to)).toBe(true);
    expect(after.status).toBe(to);
    expect(after.version).toBe(4);
    expect(after.updatedAt).toBe(now.toISOString());
    expect({ ...after, status: from, version: 3, updatedAt: before.updatedAt }).toEqual(before);
  });

  it.each(REFUSED)('refuses %s → %s', (from, to) => {
    const before = requestRecord({ status: from });
    expect(canTransition(from, to)).toBe(false);
    expect(() => transition(before, to, now)).toThrow(`illegal transition ${from} → ${to} for ${before.id}`);
  });

  it('covers every pair of statuses exactly once between the two lists', () => {
    expect(ALLOWED.length + REFUSED.length).toBe(REQUEST_STATUSES.length ** 2);
  });

  it.each([...TERMINAL_STATUSES])('has no way out of %s', (from) => {
    for (const to of REQUEST_STATUSES) expect(canTransition(from, to)).toBe(false);
  });

  it('calls exactly denied, expired, cancelled, succeeded and failed terminal', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'denied', 'expired', 'failed', 'succeeded']);
    for (const s of REQUEST_STATUSES.filter((s) => !TERMINAL_STATUSES.has(s))) {
      expect(ALLOWED.some(([from]) => from === s)).toBe(true);
    }
  });

  it('never moves to the same status (no silent rewrites)', () => {
    for (const s of REQUEST_STATUSES) expect(canTransition(s, s)).toBe(false);
  });

  it('applies the patch and leaves the original record untouched', () => {
    const before = requestRecord({ status: 'executing' });
    const after = transition(before, 'failed', now, { error: { code: 'EXECUTION_FAILED', message: 'boom' }, result: { rows: 0 } });
    expect(after).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_FAILED', message: 'boom' }, result: { rows: 0 } });
    expect(before).toMatchObject({ status: 'executing', error: null, result: null });
  });

  it('counts versions up one per step along a full life', () => {
    let r = requestRecord({ version: 1 });
    for (const to of ['approved', 'executing', 'succeeded'] as const) r = transition(r, to, now);
    expect(r).toMatchObject({ status: 'succeeded', version: 4 });
  });
});
