/** Cancel: the requester (or the human an agent acts for) withdraws a pending request. */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import { isOwnSide } from '../core/visibility.ts';
import { assertWellFormed } from '../core/well-formed.ts';
import type { Deps } from './deps.ts';
import { isDue } from './expire.ts';
import { maySee, notFound } from './read.ts';

/**
 * @example
 * await cancel(deps, { principal: deployBot, requestId: 'req_…', reason: 'no longer needed' });
 */
export async function cancel(deps: Deps, cmd: { principal: Principal; requestId: string; reason?: string }): Promise<RequestRecord> {
  // Stored and shown as the request's outcome: a lone surrogate would read as U+FFFD there.
  if (cmd.reason !== undefined) assertWellFormed('reason', cmd.reason);
  const r = await deps.store.mutateRequest(cmd.requestId, (current) => {
    // Whoever may not see the request hears what an unknown id gets; whoever may, why they cannot cancel it.
    if (!maySee(deps, cmd.principal, current)) throw notFound(cmd.requestId);
    if (!isOwnSide(current, cmd.principal, deps.identity)) {
      throw new CountersignError(cmd.principal.kind === 'human' ? 'FORBIDDEN' : 'NOT_FOUND', 'only the requester can cancel a request');
    }
    const now = deps.clock.now();
    if (current.status !== 'pending' || isDue(current, now)) {
      throw new CountersignError('REQUEST_NOT_PENDING', `request ${current.id} is ${isDue(current, now) ? 'expired' : current.status}`, { status: current.status });
    }
    const next = transition(current, 'cancelled', now, { error: { code: 'REQUEST_CANCELLED', message: cmd.reason || 'cancelled by the requester' } });
    return {
      result: next,
      next,
      audit: [{ type: 'request.cancelled', time: now.toISOString(), requestId: current.id, actor: cmd.principal.id, data: { reason: cmd.reason ?? '' } }],
    };
  });
  deps.notifier.publish(r);
  return r;
}
