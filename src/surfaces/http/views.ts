/**
 * The request as the API shows it: the exact input (agent header values
 * redacted), facts, decision, approvals given and still needed. Never a
 * connection's URL, headers or credentials — the core does not have them.
 */
import { redactInput } from '../../core/action.ts';
import type { HumanDirectory } from '../../core/human-identity.ts';
import type { Principal } from '../../core/principal.ts';
import type { RequestRecord } from '../../core/request.ts';
import { isRequesterSide, remainingApprovals, traitsOf } from '../../core/review.ts';
import { undoSummary } from '../../core/undo.ts';
import { sessionShown } from '../../core/session-shown.ts';
import { reviewability } from '../../service/read.ts';
import { approversOf, ladderOf } from '../../core/escalation.ts';

/**
 * `dir` is the configuration in force: who the requesting side is (the human a configured agent acts for, whatever
 * its token named) is judged as the console judges it, so no surface shows that side what the console withholds.
 *
 * @example
 * c.json(requestView(r, c.get('principal'), deps.identity));
 */
export function requestView(r: RequestRecord, viewer: Principal | undefined, dir: HumanDirectory): Record<string, unknown> {
  const remaining = remainingApprovals(approversOf(r), r.reviews, r);
  const session = sessionShown(r);
  return {
    id: r.id,
    status: r.status,
    principal: { id: r.principal.id, kind: r.principal.kind, actsFor: r.principal.actsFor, groups: r.principal.groups },
    connection: r.connection,
    action: { connection: r.action.connection, operation: r.action.operation, input: redactInput(r.action.input), reason: r.action.reason },
    facts: r.facts,
    digest: r.digest,
    decision: { effect: r.decision.effect, rules: r.decision.rules, message: r.decision.message, policyHash: r.decision.policyHash, approvers: r.decision.approvers, breakGlassGroups: r.decision.breakGlass ?? [], noUndo: r.decision.noUndo ?? [] },
    approvals: {
      needed: r.status === 'pending' ? remaining.reduce((n, x) => n + x.needed, 0) : 0,
      remaining: r.status === 'pending' ? remaining.filter((x) => x.needed > 0) : [],
    },
    reviews: r.reviews.map((v) => ({ reviewer: v.reviewer.id, verdict: v.verdict, comment: v.comment, at: v.createdAt, ...(v.stepUp ? { stepUp: v.stepUp } : {}) })),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    expiresAt: r.expiresAt,
    result: r.result,
    error: r.error,
    // The safety nets: the ladder (every rung, when due, when fired) and the break-glass with its after-the-fact review.
    escalation: ladderOf(r),
    // `webauthn`: every approval is confirmed with a passkey in the console (README, "Step-up").
    stepUp: r.decision.stepUp ?? null,
    breakGlass: r.breakGlass ? { by: r.breakGlass.by, justification: r.breakGlass.justification, at: r.breakGlass.at, stepUp: r.breakGlass.stepUp ?? null, review: r.breakGlass.review ?? null } : null,
    // Scoped grants: the one its approval created, and the one (with which use) that approved it instead of reviewers.
    ...(r.grant ? { grant: { id: r.grant.id, uses: r.grant.uses, expiresAt: r.grant.expiresAt } } : {}),
    ...(r.grantedBy ? { grantedBy: { grantId: r.grantedBy.grantId, use: r.grantedBy.use, of: r.grantedBy.of } } : {}),
    ...(r.decision.grant ? { grantTerms: { maxUses: r.decision.grant.maxUses, maxDurationSeconds: r.decision.grant.maxDurationSeconds, vary: r.decision.grant.vary } } : {}),
    ...(viewer?.kind === 'human' ? { reviewable: reviewability(viewer, r) } : {}),
    // A wire statement's session, where it reads the text otherwise than a new one (DateStyle, a temporary table).
    ...(session ? { session } : {}),
    // Reviewers only: counts of rows matching a WHERE would tell the requesting side what it may not read.
    // Whether it can be reverted and what it changed, never a row: the values are for the revert statement only.
    ...(r.undo ? { undo: undoSummary(r.undo) } : {}),
    ...(r.preview && viewer?.kind === 'human' && !isRequesterSide(r, traitsOf(viewer), dir) ? { preview: r.preview } : {}),
  };
}
