/**
 * The Store contract for idempotency keys: a principal's key names at most one
 * request, found by that principal alone; of racing inserts under one key, one wins.
 */
import { describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../src/core/audit.ts';
import { IdempotencyKeyTaken } from '../../src/core/idempotency.ts';
import type { Store } from '../../src/core/ports.ts';
import { agent, auditDraft, requestRecord } from '../support/fixtures.ts';
import { allAudit, approveBy, carol, submitted } from './store-fixtures.ts';

/** Registers the idempotency-key cases inside a store's contract suite; `store()` is the store of the running case. */
export function storeIdempotencyContract(store: () => Store): void {
describe('idempotency keys', () => {
  it("finds a principal's request by its key, and only that principal's", async () => {
    const mine = await submitted(store(), { idempotencyKey: 'order-42' });
    const theirs = await submitted(store(), { idempotencyKey: 'order-42', principal: agent('other-bot', null) });
    await submitted(store());

    expect(await store().findRequestByIdempotencyKey('deploy-bot', 'order-42')).toEqual(mine);
    expect((await store().findRequestByIdempotencyKey('other-bot', 'order-42'))?.id).toBe(theirs.id);
    expect(await store().findRequestByIdempotencyKey('deploy-bot', 'order-43')).toBeUndefined();
    expect(await store().findRequestByIdempotencyKey('nobody', 'order-42')).toBeUndefined();
    // Matched exactly: another case, a prefix, NUL are other keys (or none).
    for (const other of ['ORDER-42', 'order-4', 'order-42 ', 'order-42\u0000']) {
      expect(await store().findRequestByIdempotencyKey('deploy-bot', other), JSON.stringify(other)).toBeUndefined();
    }
    // A change to the request keeps its key.
    await store().mutateRequest(mine.id, approveBy(carol));
    expect(await store().findRequestByIdempotencyKey('deploy-bot', 'order-42')).toMatchObject({ id: mine.id, status: 'approved', idempotencyKey: 'order-42' });
  });

  it('refuses a second request of the same principal under the same key with IdempotencyKeyTaken, and writes nothing of it', async () => {
    const first = await submitted(store(), { idempotencyKey: 'k1' });
    const second = requestRecord({ idempotencyKey: 'k1' });
    const e = await store().insertRequest(second, [auditDraft('request.created', second.id)]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IdempotencyKeyTaken);
    expect(await store().getRequest(second.id)).toBeUndefined();
    expect(await store().findRequestByIdempotencyKey('deploy-bot', 'k1')).toEqual(first);
    expect((await allAudit(store())).map((x) => x.requestId)).toEqual([first.id]);
  });

  it('lets any number of requests have no key', async () => {
    await Promise.all(Array.from({ length: 5 }, () => submitted(store())));
    expect(await store().listRequests({})).toHaveLength(5);
  });

  it('lets exactly one of 20 concurrent inserts under one key in, beside unkeyed writes that all land', async () => {
    const keyed = Array.from({ length: 20 }, () => requestRecord({ idempotencyKey: 'race' }));
    const plain = Array.from({ length: 10 }, () => requestRecord());
    const settled = await Promise.allSettled([...keyed, ...plain].map((r) => store().insertRequest(r, [auditDraft('request.submitted', r.id)])));
    const won = keyed.filter((_, i) => settled[i]!.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const s of settled.slice(0, 20)) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(IdempotencyKeyTaken);
    expect(settled.slice(20).every((s) => s.status === 'fulfilled')).toBe(true);
    expect((await store().findRequestByIdempotencyKey('deploy-bot', 'race'))?.id).toBe(won[0]!.id);
    expect(await store().listRequests({ limit: 100 })).toHaveLength(11);
    const events = await allAudit(store());
    expect(events).toHaveLength(11);
    const verifier = createChainVerifier();
    for (const x of events) expect(verifier.push(x)).toBeNull();
  });
});
}
