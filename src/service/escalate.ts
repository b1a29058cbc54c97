/**
 * Escalate: a pending request whose escalation rungs fell due has them fired,
 * one `request.escalated` audit event per rung, committed with the record of
 * the rung on the request (core/escalation.ts). The outbox delivers each event
 * to every channel, so a rung is told once: the change is guarded by the
 * store's lock on the request, and the sweep that finds due rungs runs under
 * the same lease as the expiry sweep, so one process of a store sweeps at a time.
 */
import { dueRungs } from '../core/escalation.ts';
import type { Mutation } from '../core/ports.ts';
import type { RequestRecord } from '../core/request.ts';
import type { Deps } from './deps.ts';
import { isDue } from './expire.ts';

/** The change that fires every due rung of `current`, or none (a no-op) when none is due. */
export function escalationMutation(current: RequestRecord, now: Date): Mutation<RequestRecord> {
  // A request past its time to live is the expiry's, not the ladder's.
  const due = isDue(current, now) ? [] : dueRungs(current, now);
  if (due.length === 0) return { result: current, audit: [] };
  const at = now.toISOString();
  const fired = due.map((rung) => ({ key: rung.key, rule: rung.rule, groups: rung.groups, principals: rung.principals, at }));
  const next: RequestRecord = { ...current, escalations: [...(current.escalations ?? []), ...fired], updatedAt: at, version: current.version + 1 };
  return {
    result: next,
    next,
    audit: due.map((rung) => ({
      type: 'request.escalated',
      time: at,
      requestId: current.id,
      actor: null,
      data: { rung: rung.key, rule: rung.rule, afterSeconds: rung.afterSeconds, groups: rung.groups, principals: rung.principals },
    })),
  };
}

/** Requests looked at per turn. */
const PAGE = 200;

/**
 * Fires every due rung of every pending request; returns how many rungs fired. The store names the requests with a
 * rung due (an indexed column), so a sweep costs what is due, not what is pending.
 *
 * @example
 * await escalateDue(deps); // 1, fifteen minutes after a request held by a rule with `escalate: [{ after: 15m, … }]`
 */
export async function escalateDue(deps: Deps): Promise<number> {
  let count = 0;
  const seen = new Set<string>();
  for (;;) {
    const ids = (await deps.store.escalationsDue(deps.clock.now(), PAGE)).filter((id) => !seen.has(id));
    // A request whose rung did not fire (it moved on meanwhile) is not asked again in this sweep.
    if (ids.length === 0) return count;
    for (const id of ids) {
      seen.add(id);
      let before = 0;
      const r = await deps.store.mutateRequest(id, (current) => {
        before = current.escalations?.length ?? 0;
        return escalationMutation(current, deps.clock.now());
      });
      const fired = (r.escalations?.length ?? 0) - before;
      if (fired > 0) {
        count += fired;
        deps.notifier.publish(r);
      }
    }
  }
}
