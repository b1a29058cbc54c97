/** Scoped-grant terms of several rules together: the narrowest of each, so every holding rule's limits hold. */
import type { GrantTerms } from './spec.ts';

/**
 * The terms both allow; null when either allows no grant.
 *
 * @example
 * intersectGrantTerms({ maxUses: 5, maxDurationSeconds: 3600, vary: ['params'] }, { maxUses: 2, maxDurationSeconds: 7200, vary: [] });
 * // { maxUses: 2, maxDurationSeconds: 3600, vary: [] }
 */
export function intersectGrantTerms(a: GrantTerms | null, b: GrantTerms | null): GrantTerms | null {
  if (a === null || b === null) return null;
  return {
    maxUses: Math.min(a.maxUses, b.maxUses),
    maxDurationSeconds: Math.min(a.maxDurationSeconds, b.maxDurationSeconds),
    vary: a.vary.filter((p) => b.vary.includes(p)),
  };
}
