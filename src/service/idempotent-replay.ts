/**
 * A submission under an idempotency key its principal already used: the
 * request that key made, as it stands now, in place of a new one. Nothing is
 * recorded, audited, decided or run again. The key binds one action: the
 * same digest (connection, operation, input, principal) and the same reason;
 * anything else under it is refused, so a key can never stand for two actions.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { samePrincipal } from '../core/visibility.ts';
import type { Deps } from './deps.ts';
import { expireIfDue } from './expire.ts';

/** What a submission answered: the request, and whether it is an earlier one returned for a retried key. */
export interface Submitted {
  readonly request: RequestRecord;
  readonly replayed: boolean;
  /** The request is one found by its digest (SubmitCommand `resume`, `resumeHeld`), not one this submission recorded. */
  readonly resumed?: boolean;
}

/**
 * @example
 * const earlier = await deps.store.findRequestByIdempotencyKey(principal.id, key);
 * if (earlier) return replay(deps, principal, earlier, digest, reason); // { request: earlier (now), replayed: true }
 */
export async function replay(deps: Deps, principal: Principal, earlier: RequestRecord, digest: string, reason: string): Promise<Submitted> {
  // Keys are kept per principal id: one that another issuer's principal of the same id took (core/visibility.ts
  // samePrincipal) is not this one's to use, and its request is not named.
  if (!samePrincipal(principal, earlier.principal, deps.identity)) {
    throw new CountersignError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key is already taken under your principal id by a credential of another issuer; use a new key');
  }
  if (earlier.digest !== digest || earlier.action.reason !== reason) {
    throw new CountersignError(
      'IDEMPOTENCY_KEY_REUSED',
      `this Idempotency-Key was used for request ${earlier.id}, a different action or reason; use a new key for a new action`,
      { requestId: earlier.id },
    );
  }
  // The call's log lines and spans are about this request: a retry that lost the race for the key had named its own, never recorded.
  deps.tracer.request(earlier.id);
  // As a read of the request would show it: a pending request past its expiry is expired first.
  return { request: await expireIfDue(deps, earlier), replayed: true };
}
