/**
 * The Store contract for resuming by digest: a principal's newest request with
 * an action's digest, among the statuses asked, found by that principal alone,
 * and passing over rows of the same id that are another workload's (`mine`).
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports.ts';
import { agent } from '../support/fixtures.ts';
import { approveBy, carol, submitted } from './store-fixtures.ts';

/** Registers the digest cases inside a store's contract suite; `store()` is the store of the running case. */
export function storeDigestContract(store: () => Store): void {
describe('findRequestByDigest', () => {
  it("finds the principal's newest request with that digest among the statuses asked, and nobody else's", async () => {
    const digest = `sha256:${'e'.repeat(64)}`;
    const older = await submitted(store(), { digest });
    const newer = await submitted(store(), { digest });
    await submitted(store(), { digest, principal: agent('other-bot', null) });
    await submitted(store(), { digest: `sha256:${'f'.repeat(64)}` });

    expect((await store().findRequestByDigest('deploy-bot', digest, ['pending']))?.id).toBe(newer.id);
    await store().mutateRequest(newer.id, approveBy(carol));
    expect((await store().findRequestByDigest('deploy-bot', digest, ['pending']))?.id).toBe(older.id);
    expect(await store().findRequestByDigest('deploy-bot', digest, ['pending', 'approved'])).toEqual(await store().getRequest(newer.id));
    expect((await store().findRequestByDigest('other-bot', digest, ['pending']))?.principal.id).toBe('other-bot');
    expect(await store().findRequestByDigest('deploy-bot', digest, ['executing'])).toBeUndefined();
    expect(await store().findRequestByDigest('nobody', digest, ['pending'])).toBeUndefined();
  });

  it('passes over newer requests of the same id that `mine` does not accept (another issuer’s workload)', async () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const own = await submitted(store(), { digest });
    const theirs = await submitted(store(), { digest });
    const mine = (r: { id: string }) => r.id !== theirs.id;
    expect((await store().findRequestByDigest('deploy-bot', digest, ['pending'], mine))?.id).toBe(own.id);
    expect(await store().findRequestByDigest('deploy-bot', digest, ['pending'], () => false)).toBeUndefined();
  });
});
}
