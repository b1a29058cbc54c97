/**
 * A held action approved by a scoped grant instead of reviewers: when the policy holds it and a grant of its shape
 * still stands, one use of that grant is consumed (a compare-and-set in the store) in the same transaction that
 * records the request as approved, with `grant.used`; only while the approvals that made the grant would still count
 * under the configuration in force. The request then runs through the ordinary execution path,
 * which claims it once and checks the policy again. A grant never answers a deny, nor a request run in a session.
 */
import type { AuditDraft } from '../core/audit.ts';
import { grantGiversCount, shapeDigest } from '../core/grant.ts';
import type { EscalationRung } from '../core/policy/decision.ts';
import type { RequestRecord } from '../core/request.ts';
import type { Deps } from './deps.ts';
import { countingReviews, removedPasskeysOf } from './removed-passkeys.ts';

/**
 * The request recorded as approved by a grant, or undefined (nothing written) when no grant of its shape stands.
 * `held` is the pending request as submit would record it; `audit` the events of its submission.
 *
 * @example
 * const approved = await approveByGrant(deps, pending, [submitted], now);
 */
export async function approveByGrant(deps: Deps, held: RequestRecord, audit: readonly AuditDraft[], now: Date): Promise<RequestRecord | undefined> {
  const shape = shapeDigest(held.principal, held.connection, held.action, held.facts, held.decision, held.connectionTarget);
  if (shape === undefined || held.runsIn === 'session') return undefined;
  const at = now.toISOString();
  for (const g of await deps.store.activeGrants(shape, at)) {
    // The index found it by shape; the principal is checked again by id all the same.
    if (g.shape !== shape || g.principal.id !== held.principal.id) continue;
    // A grant stands in for the approvals that made it: only while they would still count (their reviewers still
    // configured, still in the approvers' groups or a rung the policy in force still names, never on the requester side).
    if (!(await giversCount(deps, g.requestId, held.decision.escalations, now))) continue;
    const approved: RequestRecord = { ...held, status: 'approved' };
    const made = await deps.store.useGrant(g.id, at, approved, (after) => {
      const grantedBy = { grantId: after.id, use: after.used, of: after.uses, shape };
      return {
        request: { ...approved, grantedBy },
        audit: [
          ...audit,
          { type: 'grant.used', time: at, requestId: held.id, actor: null, data: { grantId: after.id, use: after.used, of: after.uses, requestId: held.id, grantedOn: after.requestId } },
          { type: 'request.approved', time: at, requestId: held.id, actor: null, data: { by: 'grant', grantId: after.id, use: after.used, of: after.uses, digest: held.digest } },
        ],
      };
    });
    if (made) return made;
  }
  return undefined;
}

/**
 * Whether the approvals of the granting request would still make the grant under the configuration in force, `rungs`
 * being the escalation ladder of the policy in force for the action it would approve.
 */
async function giversCount(deps: Deps, grantingId: string, rungs: readonly EscalationRung[] | undefined, now: Date): Promise<boolean> {
  const granting = await deps.store.getRequest(grantingId);
  if (granting === undefined) return false;
  // Counted without the step-up of a passkey removed since (removed-passkeys.ts).
  const removed = await removedPasskeysOf(deps, granting.reviews);
  return grantGiversCount({ ...granting, reviews: countingReviews(granting.reviews, removed) }, deps.identity, rungs, now);
}

/**
 * Whether a grant still stands for a request it approved that has not run yet: not revoked, and its givers would
 * still make it (as for a new use, above) under `rungs`, the escalation ladder of the policy in force when it runs.
 * Its expiry and its uses are not asked again: the use was taken in time.
 *
 * @example
 * if (!(await grantStillStands(deps, request.grantedBy.grantId, decisionNow.escalations, clock.now()))) requeue(request);
 */
export async function grantStillStands(deps: Deps, grantId: string, rungs: readonly EscalationRung[] | undefined, now: Date): Promise<boolean> {
  const g = await deps.store.getGrant(grantId);
  return g !== undefined && g.revoked === null && (await giversCount(deps, g.requestId, rungs, now));
}
