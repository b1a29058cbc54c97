/**
 * Await an outcome: wait through pending, approved and executing until the
 * request is final, or the time is up. For surfaces that hand the agent the
 * action's result rather than a status (MCP tool calls).
 */
import { TERMINAL_STATUSES, type RequestRecord } from '../core/request.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';
import { waitForChange } from './wait.ts';

/**
 * @example
 * const r = await awaitOutcome(deps, bot, 'req_…', { seconds: 45, onChange: (r) => progress(r) });
 * r.status; // final, or still pending/approved/executing when the time ran out
 */
export async function awaitOutcome(
  deps: Deps,
  viewer: Principal,
  id: string,
  opts: { seconds: number; signal?: AbortSignal; onChange?: (r: RequestRecord) => void },
): Promise<RequestRecord> {
  const end = Date.now() + opts.seconds * 1000;
  let r = await getRequest(deps, viewer, id);
  while (!TERMINAL_STATUSES.has(r.status) && !opts.signal?.aborted) {
    const left = (end - Date.now()) / 1000;
    if (left <= 0) break;
    const next = await waitForChange(deps, viewer, id, { seconds: left, from: r.status, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (next.status !== r.status || next.version !== r.version) opts.onChange?.(next);
    r = next;
  }
  return r;
}
