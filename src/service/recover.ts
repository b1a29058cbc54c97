/**
 * Recover: a restart loses no request. Approved requests that were never
 * claimed are run now. A request still `executing` after its run deadline was
 * claimed by a process that died mid-run: it is marked failed and never
 * retried, because nobody can know whether it ran (at most once). One before
 * its deadline may be running in another gateway on the same store, so it is
 * left alone until then; the sweeper checks again.
 */
import { transition, type RequestRecord } from '../core/request.ts';
import type { Deps } from './deps.ts';
import { executeApproved } from './execute.ts';
import { expireDue, expireIfDue, isDue } from './expire.ts';

/**
 * What an interrupted run's record says. Its process may have died, or the run may have outlived its deadline and still
 * be going (a slow upstream, a frozen process): it must never read as "did not run", which would invite a retry.
 */
export const INTERRUPTED_MESSAGE =
  'its outcome is unknown: no outcome was recorded by its run deadline (the gateway running it stopped, or the run outlived its time bound); it may have had an effect, and it is not retried';

/** Marks overdue executions as interrupted; returns how many. */
export async function interruptOverdue(deps: Deps): Promise<number> {
  const executing = await deps.store.listRequests({ status: ['executing'], limit: 1000 });
  let count = 0;
  const now = deps.clock.now().getTime();
  // Only overdue runs take the write lock; one still in time is left to its owner.
  for (const r of executing.filter((x) => !x.runDeadline || Date.parse(x.runDeadline) <= now)) {
    const overdue = await deps.store.mutateRequest<RequestRecord | null>(r.id, (current) => {
      const now = deps.clock.now();
      const deadline = current.runDeadline ? Date.parse(current.runDeadline) : 0;
      if (current.status !== 'executing' || deadline > now.getTime()) return { result: null, audit: [] };
      const next = transition(current, 'failed', now, {
        runDeadline: null,
        error: { code: 'EXECUTION_INTERRUPTED', message: INTERRUPTED_MESSAGE },
      });
      return {
        result: next,
        next,
        audit: [{ type: 'request.failed', time: now.toISOString(), requestId: r.id, actor: null, data: { code: 'EXECUTION_INTERRUPTED', runDeadline: current.runDeadline ?? null } }],
      };
    });
    if (overdue) {
      count++;
      // Its agent may be waiting on it, here or in another process.
      deps.notifier.publish(overdue);
    }
  }
  return count;
}

/**
 * Runs approved requests nobody has claimed for `idleMs` — after a restart,
 * or when the claim right after approval failed (a busy or failing store).
 * The claim is a compare-and-set, so a request being claimed elsewhere at the
 * same moment still runs once.
 */
export async function resumeApproved(deps: Deps, idleMs: number): Promise<number> {
  const cutoff = deps.clock.now().getTime() - idleMs;
  const listed = await deps.store.listRequests({ status: ['approved'], limit: 1000 });
  // Requests bound to a client session are that session's to run (or a re-send's), never the recovery's; past their
  // time to live, unclaimed, they expire here, so that they neither stay approved for good nor crowd this list.
  const now = deps.clock.now();
  for (const r of listed) {
    if (isDue(r, now)) await expireIfDue(deps, r).catch((e: unknown) => deps.log.error({ requestId: r.id, err: e }, 'expiring a stale session approval failed'));
  }
  const approved = listed.filter((r) => Date.parse(r.updatedAt) <= cutoff && r.runsIn !== 'session');
  for (const r of approved) {
    // A trace of its own per run (there is no caller's), linked to the submission's by execute.
    void deps.tracer.span('resume', { 'countersign.request_id': r.id }, () => executeApproved(deps, r.id)).catch((e: unknown) => deps.log.error({ requestId: r.id, err: e }, 'resumed execution failed'));
  }
  return approved.length;
}

export async function recover(deps: Deps): Promise<{ interrupted: number; resumed: number; expired: number }> {
  const interrupted = await interruptOverdue(deps);
  const resumed = await resumeApproved(deps, 0);
  const expired = await expireDue(deps);
  return { interrupted, resumed, expired };
}
