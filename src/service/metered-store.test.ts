/**
 * The metered store over a real SQLite store and prom-client's metrics: what
 * its writes commit is counted once, as committed — also when the store asks
 * a mutation twice (first of the record the caller knew, then of the stored one).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createPromMetrics } from '../adapters/metrics/prom.ts';
import { createSqliteStore } from '../adapters/store/sqlite/store.ts';
import type { Mutation } from '../core/ports.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import { manualClock } from '../../test/support/clock.ts';
import { parseExposition, valueOf } from '../../test/support/exposition.ts';
import { at, auditDraft, FIXTURE_CONNECTION, FIXTURE_TIME, human, requestRecord, reviewOf } from '../../test/support/fixtures.ts';
import { meteredStore } from './metered-store.ts';

function setup() {
  const raw = createSqliteStore({ path: ':memory:' });
  const metrics = createPromMetrics({ store: raw, clock: manualClock(), channels: [], log: pino({ level: 'silent' }) });
  const store = meteredStore(raw, metrics);
  const read = async () => parseExposition((await metrics.expose()).body);
  const settled = async (status: string, effect = 'approve') => valueOf(await read(), 'countersign_requests_total', { connection: FIXTURE_CONNECTION.name, effect, status });
  return { raw, store, read, settled };
}

const carol = human('carol', ['sre']);

/** carol's verdict on a pending request, decided `seconds` after its submission. */
const verdict = (v: 'approve' | 'deny', seconds: number) => (current: RequestRecord): Mutation<RequestRecord> => {
  const review = reviewOf(current, carol, v, at(seconds));
  const next = { ...transition(current, v === 'approve' ? 'approved' : 'denied', new Date(FIXTURE_TIME.getTime() + seconds * 1000)), reviews: [review] };
  return { result: next, next, review, audit: [auditDraft('review.recorded', current.id)] };
};

describe('meteredStore', () => {
  it('counts a request written final at once, and not one written pending', async () => {
    const { store, settled, read } = setup();
    await store.insertRequest(requestRecord({ status: 'denied', decision: { ...requestRecord().decision, effect: 'deny' } }), [auditDraft('request.denied', null)]);
    await store.insertRequest(requestRecord(), [auditDraft('request.held', null)]);
    expect(await settled('denied', 'deny')).toBe(1);
    expect(await settled('pending')).toBe(0);
    expect(valueOf(await read(), 'countersign_audit_append_duration_seconds_count')).toBe(2);
  });

  it('reports a human decision with the seconds from submission, and the final status once, when the store asks the mutation twice', async () => {
    const { store, raw, settled, read } = setup();
    const r = requestRecord();
    await store.insertRequest(r, []);
    // Someone else changed it meanwhile: the caller's `known` record is stale, so the store asks again of the stored one.
    await raw.mutateRequest(r.id, (current) => {
      const next = { ...current, updatedAt: at(1), version: current.version + 1 };
      return { result: next, next, audit: [] };
    });
    let asked = 0;
    await store.mutateRequest(r.id, (current) => {
      asked++;
      return verdict('deny', 300)(current);
    }, r);
    expect(asked).toBe(2);
    const m = await read();
    expect(await settled('denied')).toBe(1);
    expect(valueOf(m, 'countersign_decision_seconds_count', { decision: 'denied' })).toBe(1);
    expect(valueOf(m, 'countersign_decision_seconds_sum', { decision: 'denied' })).toBe(300);
    // The insert carried no audit event; the stale-record change went around the metered store; the review's did.
    expect(valueOf(m, 'countersign_audit_append_duration_seconds_count')).toBe(1);
  });

  it('counts nothing for a mutation that leaves the status as it was, or that throws', async () => {
    const { store, settled, read } = setup();
    const r = requestRecord();
    await store.insertRequest(r, []);
    await store.mutateRequest(r.id, verdict('approve', 30));
    await store.mutateRequest(r.id, (current) => ({ result: current, audit: [] }));
    await expect(
      store.mutateRequest(r.id, () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const m = await read();
    expect(valueOf(m, 'countersign_decision_seconds_count', { decision: 'approved' })).toBe(1);
    // approved is not final: it runs next.
    expect(await settled('approved')).toBe(0);
    expect(valueOf(m, 'countersign_audit_append_duration_seconds_count')).toBe(1);
  });
});
