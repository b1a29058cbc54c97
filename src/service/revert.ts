/**
 * Revert: a human asks for an approved SQL write to be undone, and gets a NEW
 * request on the same connection whose one statement restores the rows the
 * write changed (core/undo.ts), submitted as hers through the policy and review
 * like any other. Since that statement holds the rows' old values, only a
 * human who may read them asks for it: an auditor or admin, or a reviewer of
 * the original — never its requesting side, who would read through it rows
 * no one approved them to read.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { isRequesterSide, traitsOf } from '../core/review.ts';
import { AUDIT_READERS, hasAnyRole } from '../core/roles.ts';
import { revertSql } from '../core/undo.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';
import { submit } from './submit.ts';

export interface RevertCommand {
  readonly principal: Principal;
  readonly requestId: string;
  /** Why, in her words; the original request's id is added. */
  readonly reason?: string;
  readonly context?: Readonly<Record<string, string>>;
}

/** Whether this principal may ask to revert the request (so read its rows' old values through the revert). */
export function mayRevert(deps: Deps, who: Principal, r: RequestRecord): boolean {
  // The requester side by every name the person goes by, not the id alone: the revert's input holds the old values.
  if (who.kind !== 'human' || isRequesterSide(r, traitsOf(who), deps.identity)) return false;
  return hasAnyRole(deps.identity.roles(who), AUDIT_READERS) || r.reviews.some((v) => v.reviewer.id === who.id);
}

/**
 * @example
 * const revert = await requestRevert(deps, { principal: alice, requestId: 'req_…', reason: 'wrong customer' }); // revert.status: 'pending' | …
 */
export async function requestRevert(deps: Deps, cmd: RevertCommand): Promise<RequestRecord> {
  const original = await getRequest(deps, cmd.principal, cmd.requestId);
  if (!mayRevert(deps, cmd.principal, original)) {
    throw new CountersignError('ROLE_REQUIRED', 'a revert is asked for by a reviewer of the request, an auditor or an admin, never by its requesting side');
  }
  const undo = original.undo;
  if (original.status !== 'succeeded' || !undo || undo.status !== 'captured') {
    const why = undo?.status === 'none' ? `no undo: ${undo.reason}` : original.status !== 'succeeded' ? `it is ${original.status}, not succeeded` : 'no undo was captured when it ran';
    throw new CountersignError('UNDO_UNAVAILABLE', `request ${original.id} cannot be reverted: ${why}`);
  }
  if (undo.rows.length === 0) throw new CountersignError('UNDO_UNAVAILABLE', `request ${original.id} cannot be reverted: it changed no rows`);
  const reason = `revert of request ${original.id}${cmd.reason ? `: ${cmd.reason}` : ''}`;
  return submit(deps, {
    principal: cmd.principal,
    connection: original.action.connection,
    input: { sql: revertSql(undo) },
    reason,
    context: { ...(cmd.context ?? {}), revertOf: original.id },
  });
}
