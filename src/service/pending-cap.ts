/**
 * Held requests one principal may have pending at once (`server.maxPendingPerPrincipal`): each waits in every
 * reviewer's inbox and in the store until it is decided or expires, so an agent submitting held actions without bound
 * would bury other agents' requests and grow the store. Counted by principal id: workloads of one id from
 * different token issuers share the cap, which errs towards refusing. Checked before the write, so submissions racing
 * past it may go over by as many as race; nothing is recorded for one refused.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';

/**
 * Throws TOO_MANY_PENDING (429) when `principal` already has `deps.maxPendingPerPrincipal` requests pending.
 *
 * @example
 * await checkPendingCap(deps, principal); // before recording a held request
 */
export async function checkPendingCap(deps: Deps, principal: Principal): Promise<void> {
  const cap = deps.maxPendingPerPrincipal;
  if (cap === undefined) return;
  if ((await deps.store.pendingOf(principal.id, cap)) < cap) return;
  throw new CountersignError('TOO_MANY_PENDING', `${principal.id} already has ${cap} requests pending review (server.maxPendingPerPrincipal); wait for a decision, or cancel one, before submitting another held action`, { maxPending: cap });
}
