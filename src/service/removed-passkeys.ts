/**
 * Approvals confirmed by a passkey that is no longer held. A passkey is removed by its human or an administrator
 * because it is lost, or because whoever held the human's session enrolled it: from then on it confirms nothing,
 * and an approval it confirmed counts toward a step-up rule no more than one without a passkey (core/review.ts
 * countedApprovals), while the request is pending, in the check before it runs, and for a scoped grant those
 * approvals gave (service/grant-use.ts). Otherwise one person could make
 * a quorum of two with a passkey enrolled in another's name, removal notwithstanding.
 */
import type { Review } from '../core/review.ts';
import type { Deps } from './deps.ts';

/**
 * The credential ids of the passkeys that confirmed approvals of this request and are no longer stored.
 *
 * @example
 * const removed = await removedPasskeys(deps, 'req_…'); // Set { 'AbC…' } once an administrator removed that passkey
 */
export async function removedPasskeys(deps: Pick<Deps, 'store'>, requestId: string): Promise<ReadonlySet<string>> {
  return removedPasskeysOf(deps, (await deps.store.getRequest(requestId))?.reviews ?? []);
}

/** The credential ids of the passkeys that confirmed these reviews and are no longer stored. */
export async function removedPasskeysOf(deps: Pick<Deps, 'store'>, reviews: readonly Review[]): Promise<ReadonlySet<string>> {
  const used = new Set(reviews.flatMap((r) => (r.stepUp ? [r.stepUp.credentialId] : [])));
  const removed = new Set<string>();
  for (const id of used) if ((await deps.store.getPasskey(id)) === undefined) removed.add(id);
  return removed;
}

/**
 * The reviews as approvals are counted: one confirmed by a removed passkey without its step-up.
 *
 * @example
 * quorumMet(requirements, countingReviews(request.reviews, removed), request, identity);
 */
export function countingReviews(reviews: readonly Review[], removed: ReadonlySet<string>): Review[] {
  return reviews.map((r) => {
    if (!r.stepUp || !removed.has(r.stepUp.credentialId)) return r;
    const { stepUp: _removed, ...rest } = r;
    return rest;
  });
}

/** Which passkeys that confirmed approvals were looked up before a write (`checked`), and which of them are gone. */
export interface PasskeyFacts {
  readonly checked: ReadonlySet<string>;
  readonly removed: ReadonlySet<string>;
}

/**
 * The passkey facts of these reviews (read before the write), to count the row's reviews with in the write.
 *
 * @example
 * const facts = await passkeyFacts(deps, request.reviews); // then uncheckedPasskey(facts, current.reviews)
 */
export async function passkeyFacts(deps: Pick<Deps, 'store'>, reviews: readonly Review[]): Promise<PasskeyFacts> {
  return { checked: new Set(reviews.flatMap((r) => (r.stepUp ? [r.stepUp.credentialId] : []))), removed: await removedPasskeysOf(deps, reviews) };
}

/** Whether one of `reviews` was confirmed by a passkey the facts did not look up (an approval written since). */
export function uncheckedPasskey(facts: PasskeyFacts, reviews: readonly Review[]): boolean {
  return reviews.some((r) => r.stepUp !== undefined && !facts.checked.has(r.stepUp.credentialId));
}
