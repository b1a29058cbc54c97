/**
 * Recover, at start: a restart loses no request. Approved requests that were
 * never claimed are run now; requests caught mid-run are marked failed and
 * never retried, because the gateway cannot know whether they ran (at most once).
 */
import { transition } from '../core/request.ts';
import type { Deps } from './deps.ts';
import { executeApproved } from './execute.ts';
import { expireDue } from './expire.ts';

export async function recover(deps: Deps): Promise<{ interrupted: number; resumed: number; expired: number }> {
  const executing = await deps.store.listRequests({ status: ['executing'], limit: 1000 });
  for (const r of executing) {
    await deps.store.mutateRequest(r.id, (current) => {
      if (current.status !== 'executing') return { result: null, audit: [] };
      const now = deps.clock.now();
      const next = transition(current, 'failed', now, { error: { code: 'EXECUTION_INTERRUPTED', message: 'the gateway stopped while this action ran; it is not retried' } });
      return { result: null, next, audit: [{ type: 'request.failed', time: now.toISOString(), requestId: r.id, actor: null, data: { code: 'EXECUTION_INTERRUPTED' } }] };
    });
  }
  const approved = await deps.store.listRequests({ status: ['approved'], limit: 1000 });
  for (const r of approved) {
    void executeApproved(deps, r.id).catch((e: unknown) => deps.log.error({ requestId: r.id, err: String(e) }, 'resumed execution failed'));
  }
  const expired = await expireDue(deps);
  return { interrupted: executing.length, resumed: approved.length, expired };
}
