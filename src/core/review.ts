/**
 * Reviews, separation of duties and quorum. A review counts once per human,
 * never from the requester, the human the agent acts for, or any agent; each
 * approver requirement needs its own count of distinct eligible humans; and
 * only a review given for the request's digest counts, since an approval is
 * for one exact action. Humans are compared by their canonical identity
 * (core/human-identity.ts), which every surface resolves before a review.
 */
import { CountersignError } from './errors.ts';
import { sameIdentity, type HumanTraits } from './human-identity.ts';
import { canonicalIdentity } from './principal.ts';
import type { Principal } from './principal.ts';
import type { ApproverRequirement } from './policy/decision.ts';
import type { RequestRecord } from './request.ts';

export type Verdict = 'approve' | 'deny';

export interface Review {
  readonly requestId: string;
  readonly reviewer: {
    readonly id: string;
    readonly kind: 'human';
    readonly groups: readonly string[];
    /** The reviewer's email (configured, or verified by the provider) and token identity, so one person is recognised under any id. */
    readonly email?: string | null;
    readonly identity?: { readonly issuer: string; readonly subject: string } | null;
  };
  readonly verdict: Verdict;
  readonly comment: string;
  /** The digest the reviewer saw: the review is for this exact action. */
  readonly digest: string;
  readonly createdAt: string;
}

/** Whether a human with these groups may fill this requirement. */
export function fills(req: ApproverRequirement, reviewer: { id: string; groups: readonly string[] }): boolean {
  if (req.groups.length === 0 && req.principals.length === 0) return true;
  return req.principals.includes(reviewer.id) || req.groups.some((g) => reviewer.groups.includes(g));
}

/** A principal as the traits the review rules compare (an agent's email is not a person's). */
export function traitsOf(p: Principal): HumanTraits {
  return { id: p.id, email: p.kind === 'human' ? p.email : null, identity: canonicalIdentity(p) };
}

/** The requester (by id, email or token identity) and the human an agent acts for are never reviewers of their own request. */
export function isRequesterSide(request: Pick<RequestRecord, 'principal'>, reviewer: HumanTraits | string): boolean {
  const who = typeof reviewer === 'string' ? { id: reviewer } : reviewer;
  const { actsFor } = request.principal;
  return sameIdentity(who, traitsOf(request.principal)) || (actsFor !== null && sameIdentity(who, { id: actsFor }));
}

/**
 * Throws the stable error that keeps `reviewer` from reviewing `request`
 * (status aside); returns when they may.
 */
export function assertMayReview(request: RequestRecord, reviewer: Principal): void {
  if (reviewer.kind !== 'human') {
    throw new CountersignError('AGENT_CANNOT_REVIEW', `${reviewer.id} is an agent; only humans review`);
  }
  const who = traitsOf(reviewer);
  if (isRequesterSide(request, who)) {
    throw new CountersignError(
      'SELF_APPROVAL_FORBIDDEN',
      `${reviewer.id} asked for this request (or is the human it acts for) and cannot review it`,
    );
  }
  if (!request.decision.approvers.some((r) => fills(r, reviewer))) {
    const needed = request.decision.approvers.flatMap((r) => [...r.groups.map((g) => `group ${g}`), ...r.principals]);
    throw new CountersignError('NOT_AN_APPROVER', `${reviewer.id} is not an approver here; needed: ${needed.join(', ')}`);
  }
  if (request.reviews.some((r) => sameIdentity(r.reviewer, who))) {
    throw new CountersignError('ALREADY_REVIEWED', `${reviewer.id} has already reviewed this request`);
  }
}

/**
 * The approvals that count for this request: approving reviews by humans, not
 * from its requester side, given for its digest, one per human (the first).
 */
export function countedApprovals(reviews: readonly Review[], request: Pick<RequestRecord, 'principal' | 'digest'>): Review[] {
  const approvers: Review[] = [];
  for (const r of reviews) {
    if (r.verdict !== 'approve' || r.reviewer.kind !== 'human' || r.digest !== request.digest) continue;
    if (isRequesterSide(request, r.reviewer)) continue;
    if (!approvers.some((a) => sameIdentity(a.reviewer, r.reviewer))) approvers.push(r);
  }
  return approvers;
}

/** Approvals still needed per requirement, counting only distinct eligible humans. */
export function remainingApprovals(
  requirements: readonly ApproverRequirement[],
  reviews: readonly Review[],
  request: Pick<RequestRecord, 'principal' | 'digest'>,
): { rule: string; groups: readonly string[]; principals: readonly string[]; needed: number }[] {
  const approvers = countedApprovals(reviews, request).map((r) => r.reviewer);
  return requirements.map((req) => {
    let have = 0;
    for (const a of approvers) if (fills(req, a)) have++;
    return { rule: req.rule, groups: req.groups, principals: req.principals, needed: Math.max(0, req.count - have) };
  });
}

/** True when every requirement has its count of distinct eligible human approvals. */
export function quorumMet(
  requirements: readonly ApproverRequirement[],
  reviews: readonly Review[],
  request: Pick<RequestRecord, 'principal' | 'digest'>,
): boolean {
  return remainingApprovals(requirements, reviews, request).every((r) => r.needed === 0);
}
