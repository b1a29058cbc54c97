/**
 * Expire: a pending request past its time to live becomes `expired` (so does
 * an approval its client session never claimed in time) — the
 * agent is told it expired, not that it was denied. Swept on a timer and also
 * checked whenever a request is read or reviewed, so the answer never depends
 * on the sweeper's timing.
 */
import type { Mutation } from '../core/ports.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import type { Deps } from './deps.ts';

/**
 * Past its time to live: a pending request, or an approval bound to a client
 * session (`runsIn: 'session'`) that no session claimed in time — the session
 * it was for is long gone. An approval the gateway runs itself never expires.
 */
export function isDue(r: RequestRecord, now: Date): boolean {
  const waiting = r.status === 'pending' || (r.status === 'approved' && r.runsIn === 'session');
  return waiting && r.expiresAt !== null && Date.parse(r.expiresAt) <= now.getTime();
}

export function expiredMutation(current: RequestRecord, now: Date): Mutation<RequestRecord> {
  const approved = current.status === 'approved';
  const message = approved ? `approved, but not run in its session before ${current.expiresAt}` : `no decision before ${current.expiresAt}`;
  const next = transition(current, 'expired', now, { error: { code: 'REQUEST_EXPIRED', message } });
  const data = { expiresAt: current.expiresAt, ...(approved ? { approved: true } : {}) };
  return { result: next, next, audit: [{ type: 'request.expired', time: now.toISOString(), requestId: current.id, actor: null, data }] };
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
