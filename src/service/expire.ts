/**
 * Expire: a pending request past its time to live becomes `expired` — the
 * agent is told it expired, not that it was denied. Swept on a timer and also
 * checked whenever a request is read or reviewed, so the answer never depends
 * on the sweeper's timing.
 */
import type { Mutation } from '../core/ports.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import type { Deps } from './deps.ts';

export function isDue(r: RequestRecord, now: Date): boolean {
  return r.status === 'pending' && r.expiresAt !== null && Date.parse(r.expiresAt) <= now.getTime();
}

export function expiredMutation(current: RequestRecord, now: Date): Mutation<RequestRecord> {
  const next = transition(current, 'expired', now, { error: { code: 'REQUEST_EXPIRED', message: `no decision before ${current.expiresAt}` } });
  return { result: next, next, audit: [{ type: 'request.expired', time: now.toISOString(), requestId: current.id, actor: null, data: { expiresAt: current.expiresAt } }] };
}

/**
 * An approval bound to a client session (`runsIn: 'session'`) that no session
 * claimed before the request's time to live: the session it was for is long gone.
 */
export function isStaleSessionApproval(r: RequestRecord, now: Date): boolean {
  return r.status === 'approved' && r.runsIn === 'session' && r.expiresAt !== null && Date.parse(r.expiresAt) <= now.getTime();
}

export function staleApprovalMutation<T = RequestRecord>(current: RequestRecord, now: Date, result: (next: RequestRecord) => T = (n) => n as T): Mutation<T> {
  const next = transition(current, 'expired', now, { error: { code: 'REQUEST_EXPIRED', message: `approved, but not run in its session before ${current.expiresAt}` } });
  return {
    result: result(next),
    next,
    audit: [{ type: 'request.expired', time: now.toISOString(), requestId: current.id, actor: null, data: { expiresAt: current.expiresAt, approved: true } }],
  };
}

/** Expires a session-bound approval past its time to live; returns the request as it stands afterwards. */
export async function expireStaleApproval(deps: Deps, request: RequestRecord): Promise<RequestRecord> {
  if (!isStaleSessionApproval(request, deps.clock.now())) return request;
  const r = await deps.store.mutateRequest(request.id, (current) => {
    const now = deps.clock.now();
    return isStaleSessionApproval(current, now) ? staleApprovalMutation(current, now) : { result: current, audit: [] };
  });
  deps.notifier.publish(r);
  return r;
}

/** Expires one request if it is due; returns it as it stands afterwards. */
export async function expireIfDue(deps: Deps, request: RequestRecord): Promise<RequestRecord> {
  if (!isDue(request, deps.clock.now())) return request;
  const r = await deps.store.mutateRequest(request.id, (current) => {
    const now = deps.clock.now();
    return isDue(current, now) ? expiredMutation(current, now) : { result: current, audit: [] };
  });
  deps.notifier.publish(r);
  return r;
}

/** Expires every due request (in batches); returns how many. */
export async function expireDue(deps: Deps): Promise<number> {
  let count = 0;
  for (;;) {
    const ids = await deps.store.dueForExpiry(deps.clock.now(), 200);
    if (ids.length === 0) return count;
    for (const id of ids) {
      const current = await deps.store.getRequest(id);
      if (current && (await expireIfDue(deps, current)).status === 'expired') count++;
    }
    if (ids.length < 200) return count;
  }
}
