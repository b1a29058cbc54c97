/**
 * A request record as the Teams card shows it. The words come from the
 * neutral request text (the same as in Slack); the card puts them in
 * plain-text runs, so nothing here escapes anything.
 */
import type { RequestRecord } from '../../../core/request.ts';
import { approvalStep, approveLabel, confirmText, reviewBrief } from '../../../core/review-brief.ts';
import { approvalsNeeded, boundInput, factsOf, inputText, resultText, safetyNetLines } from '../request-text.ts';
import type { HeldRequestView } from './card.ts';

/**
 * @example
 * requestCard(heldRequestView(record), { publicUrl: 'https://countersign.example.com' });
 */
export function heldRequestView(r: RequestRecord): HeldRequestView {
  // A deny's reason is on its review line; the error is news only when nobody reviewed it into this state.
  const error = r.status === 'failed' || r.status === 'expired' || r.status === 'cancelled' ? (r.error?.message ?? null) : null;
  const brief = reviewBrief(r);
  return {
    id: r.id,
    status: r.status,
    requester: { id: r.principal.id, kind: r.principal.kind === 'human' ? 'human' : 'agent' },
    actsFor: r.principal.actsFor,
    connection: { name: r.connection.name, kind: r.connection.kind, tags: r.connection.tags },
    operation: r.action.operation,
    action: brief.action,
    riskLine: brief.riskLine,
    // The card is the same for every reviewer: it says "and run" whenever some single approval could complete the quorum.
    approveLabel: approveLabel(r, approvalStep(r)),
    confirm: brief.confirm ? confirmText(brief) : null,
    input: inputText(r),
    bound: boundInput(r),
    facts: factsOf(r),
    reason: r.action.reason,
    rules: r.decision.rules,
    approvalsNeeded: r.status === 'pending' ? approvalsNeeded(r) : [],
    expiresAt: r.expiresAt,
    reviews: r.reviews.map((v) => ({ reviewer: v.reviewer.id, verdict: v.verdict, at: v.createdAt, reason: v.comment || null })),
    result: r.status === 'succeeded' || r.status === 'failed' ? resultText(r) : null,
    error,
    safetyNets: safetyNetLines(r),
  };
}

/**
 * The gateway's public URL from a request-URL builder (the card builds `<publicUrl>/requests/<id>` itself).
 *
 * @example
 * publicUrlOf((id) => `https://cs.example.com/requests/${id}`); // 'https://cs.example.com'
 */
export function publicUrlOf(requestUrl: (id: string) => string): string {
  return requestUrl('_').replace(/\/requests\/_$/, '');
}
