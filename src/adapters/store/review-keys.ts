/**
 * The keys under which both stores refuse a second review of one request by one person: each review's identity keys
 * (core/human-identity.ts identityKeys, mailboxes included), unique per request in a table of their own. Two reviews
 * sharing a key are one person's, as the review use case judges them (core/review.ts assertMayReview); the table
 * makes the database say so too, whichever id each review names them by, so that a check made on a stale read of
 * the reviews cannot record one person twice.
 */
import { identityKeys } from '../../core/human-identity.ts';
import type { Review } from '../../core/review.ts';

/**
 * @example
 * reviewKeys({ reviewer: { id: 'dana+ops@example.com', … } }); // ['email dana+ops@example.com', 'mailbox dana@example.com']
 */
export function reviewKeys(review: Pick<Review, 'reviewer'>): string[] {
  return [...identityKeys(review.reviewer, { mailbox: true })];
}

/** The columns of one key row: the request, the key, and the reviewer id it came from (for whoever reads the table). */
export function reviewKeyRows(requestId: string, reviews: readonly Pick<Review, 'reviewer'>[]): { requestId: string; key: string; reviewer: string }[] {
  return reviews.flatMap((r) => reviewKeys(r).map((key) => ({ requestId, key, reviewer: r.reviewer.id })));
}
