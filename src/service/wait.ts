/**
 * Wait: the agent's durable handle. Resolves when the request's status moves
 * away from the one the caller knows (or it is already final), or when the
 * time is up. Wake-ups come from the notifier, also for changes made by
 * another process on the same store; a slow poll covers a wake-up lost on the
 * way (a dropped connection, a process that does not announce its changes).
 * What it resolves with is handed over only under the config in force
 * (service/config-in-force.ts): a wait opened before another gateway replaced
 * the file would otherwise give a key the new file removed what happened to
 * its request since (a verdict, a result); it fails POLICY_NOT_IN_FORCE.
 */
import { TERMINAL_STATUSES, type RequestRecord, type RequestStatus } from '../core/request.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';
import { IN_FORCE_MAX_AGE_MS } from './config-in-force.ts';

const POLL_MS = 1000;

/**
 * @example
 * const r = await waitForChange(deps, bot, 'req_…', { seconds: 30 });
 */
export async function waitForChange(
  deps: Deps,
  viewer: Principal,
  id: string,
  opts: { seconds: number; from?: RequestStatus; signal?: AbortSignal },
): Promise<RequestRecord> {
  const r = await changed(deps, viewer, id, opts);
  await deps.inForce?.check(IN_FORCE_MAX_AGE_MS);
  return r;
}

async function changed(deps: Deps, viewer: Principal, id: string, opts: { seconds: number; from?: RequestStatus; signal?: AbortSignal }): Promise<RequestRecord> {
  const first = await getRequest(deps, viewer, id);
  const from = opts.from ?? first.status;
  const done = (r: RequestRecord) => r.status !== from || TERMINAL_STATUSES.has(r.status);
  if (done(first) || opts.seconds <= 0) return first;

  return new Promise<RequestRecord>((resolve, reject) => {
    let settled = false;
    const finish = (r: RequestRecord | Error) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      clearTimeout(deadline);
      clearInterval(poll);
      opts.signal?.removeEventListener('abort', onAbort);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const check = () => {
      getRequest(deps, viewer, id).then((r) => {
        if (done(r)) finish(r);
      }, finish);
    };
    const unsubscribe = deps.notifier.subscribe(id, (r) => {
      if (done(r)) finish(r);
    });
    const deadline = setTimeout(() => getRequest(deps, viewer, id).then(finish, finish), opts.seconds * 1000);
    const poll = setInterval(check, deps.waitPollMs ?? POLL_MS);
    const onAbort = () => finish(first);
    opts.signal?.addEventListener('abort', onAbort);
    check(); // a change between the first read and the subscription is not missed
  });
}
