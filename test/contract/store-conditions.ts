/**
 * The Store contract for a request change or insert made only under a meta
 * value (a run's claim, or the record of an action allowed outright, under the
 * config in force: service/config-in-force.ts): read in the write's own
 * transaction, so a change of that value lands wholly before or wholly after
 * it, never in between.
 */
import { describe, expect, it } from 'vitest';
import type { MetaCondition, Mutation, Store } from '../../src/core/ports.ts';
import { IdempotencyKeyTaken } from '../../src/core/idempotency.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { auditDraft, FIXTURE_TIME, requestRecord } from '../support/fixtures.ts';
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

  describe('a request inserted under a meta value', () => {
    const running = (overrides: Partial<RequestRecord> = {}): RequestRecord => requestRecord({ status: 'executing', ...overrides });
    const insert = (r: RequestRecord, value: string): Promise<string> =>
      store()
        .insertRequest(r, [auditDraft('request.submitted', r.id)], under(value))
        .then(() => 'inserted', (e: unknown) => (e as Error).message);

    it('is inserted while the value stands, and refused with no row and no event once it changed (or was never set)', async () => {
      const never = running();
      expect(await insert(never, 'gen-1')).toBe('in force: none');
      await store().appendAudit([], { [KEY]: 'gen-1' });
      await store().appendAudit([], { [KEY]: 'gen-2' });
      const stale = running();
      const staleKeyed = running({ idempotencyKey: 'k-stale' });
      expect(await insert(stale, 'gen-1')).toBe('in force: gen-2');
      expect(await insert(staleKeyed, 'gen-1')).toBe('in force: gen-2');
      expect(await store().getRequest(never.id)).toBeUndefined();
      expect(await store().getRequest(stale.id)).toBeUndefined();
      expect(await store().getRequest(staleKeyed.id)).toBeUndefined();
      expect(await store().findRequestByIdempotencyKey(staleKeyed.principal.id, 'k-stale')).toBeUndefined();
      expect(await store().listRequests({})).toEqual([]);
      expect(await allAudit(store())).toEqual([]);

      const held = running();
      const keyed = running({ idempotencyKey: 'k-1' });
      expect(await insert(held, 'gen-2')).toBe('inserted');
      expect(await insert(keyed, 'gen-2')).toBe('inserted');
      expect(await store().getRequest(held.id)).toEqual(held);
      expect((await store().findRequestByIdempotencyKey(keyed.principal.id, 'k-1'))?.id).toBe(keyed.id);
      expect((await allAudit(store())).map((e) => [e.type, e.requestId])).toEqual([
        ['request.submitted', held.id],
        ['request.submitted', keyed.id],
      ]);
      // The key's own refusal still comes first to a second insert under it while the value stands.
      const again = running({ idempotencyKey: 'k-1' });
      await expect(store().insertRequest(again, [auditDraft('request.submitted', again.id)], under('gen-2'))).rejects.toBeInstanceOf(IdempotencyKeyTaken);
    });

    it('is refused, with nothing of it or of a write beside it, once the value changed with no event of its own after writes under it', async () => {
      // Writes under the value first: a store that then takes the log's head for known (and writes a batch's rows
      // and events in one statement on it) must still read the value, as the change moved no head.
      await store().appendAudit([], { [KEY]: 'gen-1' });
      const before = [running(), running()];
      expect(await Promise.all(before.map((r) => insert(r, 'gen-1')))).toEqual(['inserted', 'inserted']);
      const plain = await submitted(store());
      await store().appendAudit([], { [KEY]: 'gen-2' });
      const stale = [running(), running(), running()];
      const beside = requestRecord();
      const [outcomes, besideOutcome] = await Promise.all([
        Promise.all(stale.map((r) => insert(r, 'gen-1'))),
        store().insertRequest(beside, [auditDraft('request.created', beside.id)]).then(() => 'inserted'),
      ]);
      expect(outcomes).toEqual(['in force: gen-2', 'in force: gen-2', 'in force: gen-2']);
      // An unconditional insert that shared the stale inserts' write still lands, alone.
      expect(besideOutcome).toBe('inserted');
      for (const r of stale) expect(await store().getRequest(r.id)).toBeUndefined();
      expect((await allAudit(store())).map((e) => e.requestId).sort()).toEqual([...before, plain, beside].map((r) => r.id).sort());
      expect(await insert(stale[0]!, 'gen-2')).toBe('inserted');
    });

    it('racing a change of the value: each insert lands wholly before the change, or is refused with nothing of it written', async () => {
      await store().appendAudit([], { [KEY]: 'gen-1' });
      const rs = Array.from({ length: 12 }, (_, i) => running(i % 3 === 0 ? { idempotencyKey: `race-${i}` } : {}));
      const inserts = rs.map((r) => insert(r, 'gen-1'));
      const change = store().appendAudit([auditDraft('config.loaded', null)], { [KEY]: 'gen-2' });
      const outcomes = await Promise.all(inserts);
      await change;
      expect(outcomes.filter((o) => o !== 'inserted' && o !== 'in force: gen-2')).toEqual([]);
      const log = await allAudit(store());
      const changedAt = log.findIndex((e) => e.type === 'config.loaded');
      for (const [i, r] of rs.entries()) {
        const at = log.findIndex((e) => e.requestId === r.id);
        if (outcomes[i] === 'inserted') {
          expect(await store().getRequest(r.id)).toEqual(r);
          expect(at).toBeGreaterThanOrEqual(0);
          expect(at).toBeLessThan(changedAt);
        } else {
          expect(await store().getRequest(r.id)).toBeUndefined();
          expect(at).toBe(-1);
        }
      }
      // After the change, an insert under the old value is refused; under the new one it lands.
      expect(await insert(running(), 'gen-1')).toBe('in force: gen-2');
      expect(await insert(running(), 'gen-2')).toBe('inserted');
    });
  });
}
