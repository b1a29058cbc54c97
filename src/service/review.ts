/**
 * Review: one human's verdict on one pending request. The reviewer is the
 * authenticated caller; the rules (agents never, not the requester side,
 * approver groups, once per human) are the core's; quorum met → approved and
 * execution starts; one eligible deny → denied.
 */
import { CountersignError, isCountersignError } from '../core/errors.ts';
import type { Mutation } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import { assertMayReview, countedApprovals, quorumMet, remainingApprovals, reviewerRecord, type Review, type Verdict } from '../core/review.ts';
import type { Deps } from './deps.ts';
import { executeApproved } from './execute.ts';
import { expiredMutation, isDue } from './expire.ts';
import { maySee, notFound } from './read.ts';
import { withIdentity } from './views.ts';
import { approversOf } from '../core/escalation.ts';
import { isAfterTheFact } from '../core/break-glass.ts';
import { afterTheFactMutation } from './break-glass.ts';
import { requiresStepUp, stepUpRefused } from '../core/step-up.ts';
import { stepUpHolds, type StepUpEvidence } from './step-up-evidence.ts';
import { assertGrantOffer, grantOfApproval, type GrantOffer } from '../core/grant.ts';
import { grantCreatedData } from './grants.ts';
import { DEFAULT_GROUPS_MAX_AGE_SECONDS, identityStale } from '../core/known-human.ts';
import { withSignInNames } from './chat-reviewer.ts';
import { approvalFacts, sameAsApprover, sideError, sideRefusal, twiceRefusal, type ApprovalFacts, type SideRefusal } from './side-links.ts';
import { countingReviews, passkeyFacts, uncheckedPasskey, type PasskeyFacts } from './removed-passkeys.ts';

export interface ReviewCommand {
  readonly reviewer: Principal;
  readonly requestId: string;
  readonly verdict: Verdict;
  readonly comment: string;
  /** When given, the review only counts if the request still has this digest. */
  readonly digest?: string;
  /** The channel the verdict came through (`slack`, `teams`), kept in the audit event. */
  readonly via?: string;
  /** The reviewer's account on that channel (a Slack user id), kept in the audit event. */
  readonly channelUser?: string;
  /** A verified passkey confirmation (service/step-up.ts): what an approval of a step-up request needs to count. */
  readonly stepUp?: StepUpEvidence;
  /**
   * A scoped grant offered with an approval (core/grant.ts): refused with GRANT_NOT_ALLOWED, and nothing recorded,
   * where the request's rules do not permit it; created when the request is approved if every counted approval offered one.
   */
  readonly grant?: GrantOffer;
}

/** What a digest looks like; anything else a client sends is kept out of the audit log. */
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Why a reviewer known by a chat account may not review when their remembered provider groups were too old to count
 * (Principal.staleSignInAt): given the rules' refusal `e`, when that was NOT_AN_APPROVER (without those groups they
 * fill nothing); given none, when the configuration does not name them at all, so nothing recent vouches for them.
 */
function staleRefusal(deps: Deps, cmd: ReviewCommand, requestId: string, e?: unknown): CountersignError | undefined {
  const at = cmd.reviewer.staleSignInAt;
  if (at === undefined) return undefined;
  if (e !== undefined ? !isCountersignError(e, 'NOT_AN_APPROVER') : deps.identity.principal(cmd.reviewer.id)?.kind === 'human') return undefined;
  return identityStale(cmd.reviewer.id, at, deps.groupsMaxAgeSeconds ?? DEFAULT_GROUPS_MAX_AGE_SECONDS, deps.consoleUrl?.(requestId));
}

type Outcome = { ok: true; request: RequestRecord } | { ok: false; error: CountersignError; request: RequestRecord };

const FINAL: Partial<Record<RequestRecord['status'], 'REQUEST_EXPIRED' | 'REQUEST_CANCELLED' | 'REQUEST_ALREADY_DECIDED'>> = {
  expired: 'REQUEST_EXPIRED',
  cancelled: 'REQUEST_CANCELLED',
  approved: 'REQUEST_ALREADY_DECIDED',
  denied: 'REQUEST_ALREADY_DECIDED',
  executing: 'REQUEST_ALREADY_DECIDED',
  succeeded: 'REQUEST_ALREADY_DECIDED',
  failed: 'REQUEST_ALREADY_DECIDED',
};

/**
 * @example
 * await review(deps, { reviewer: alice, requestId: 'req_…', verdict: 'approve', comment: 'looks right' });
 */
export function review(deps: Deps, cmd: ReviewCommand): Promise<RequestRecord> {
  deps.tracer.request(cmd.requestId);
  // Known by every name the gateway has for them, whatever credential they came with (chat-reviewer.ts).
  return deps.tracer.span('review', { 'countersign.reviewer': cmd.reviewer.id, 'countersign.verdict': cmd.verdict, ...(cmd.via ? { 'countersign.via': cmd.via } : {}) }, async () =>
    recordReview(deps, { ...cmd, reviewer: await withSignInNames(deps, cmd.reviewer) }),
  );
}

async function recordReview(deps: Deps, cmd: ReviewCommand): Promise<RequestRecord> {
  if (cmd.reviewer.kind !== 'human') throw new CountersignError('AGENT_CANNOT_REVIEW', `${cmd.reviewer.id} is an agent; only humans review`);
  // Who may approve, and how many, are the config's in force on the store, read now (service/config-in-force.ts).
  await deps.inForce?.check(0);
  // What sign-ins link to the requester side: a provider account or a name of a human it is for, or nothing (side-links.ts).
  const onSide = await sideRefusal(deps, cmd.requestId, cmd.reviewer);
  // Where humans sign in to the console, an approval must come from someone told apart from those who approved before.
  const approving = cmd.verdict === 'approve' && deps.signInIssuer !== undefined;
  let outcome: Outcome | 'stale';
  for (let attempt = 1; ; attempt++) {
    // Read now: whether the approvers and this reviewer signed in, which passkeys confirmed approvals and are gone.
    // Whether this review counts, given the reviews already given, is judged in the write, on the row's reviews: an
    // approval written between the two, which these facts do not cover, reads them again; after three reads, it is
    // judged as if its approver never signed in and its passkey were removed.
    const read = (await deps.store.getRequest(cmd.requestId))?.reviews ?? [];
    const facts = approving ? await approvalFacts(deps, read, cmd.reviewer) : undefined;
    const passkeys = await passkeyFacts(deps, read);
    outcome = await deps.store.mutateRequest<Outcome | 'stale'>(cmd.requestId, (current) => judge(deps, cmd, current, onSide, facts, passkeys, attempt >= 3));
    if (outcome !== 'stale') break;
  }
  deps.notifier.publish(outcome.request);
  if (!outcome.ok) throw outcome.error;
  // A request bound to a client session runs there, when that session (or the same statement sent again) claims it.
  if (outcome.request.status === 'approved' && outcome.request.runsIn !== 'session') {
    // The reviewer does not wait for the target; the agent does, on its handle.
    const id = outcome.request.id;
    void executeApproved(deps, id).catch((e: unknown) => deps.log.error({ requestId: id, err: e }, 'execution after approval failed'));
  }
  return outcome.request;
}

/** The review judged on the row in the write's transaction (`current`), with the facts read before it. */
function judge(deps: Deps, cmd: ReviewCommand, current: RequestRecord, onSide: SideRefusal | undefined, facts: ApprovalFacts | undefined, passkeys: PasskeyFacts, last: boolean): Mutation<Outcome | 'stale'> {
  // Before any other answer (decided, expired, not an approver), each of which would tell that the request exists.
  // A chat channel's card has already shown the request to that channel: there the rules below answer.
  if (cmd.via === undefined && !maySee(deps, cmd.reviewer, current)) throw notFound(cmd.requestId);
  const now = deps.clock.now();
  if (isDue(current, now)) {
    const m = expiredMutation(current, now);
    return { ...m, result: { ok: false, error: new CountersignError('REQUEST_EXPIRED', `request ${current.id} expired at ${current.expiresAt}`), request: m.result } };
  }
  // Approvals written since the facts were read: whether this one is their approver's second, what they count.
  const same = facts && sameAsApprover(deps, facts, current.reviews, cmd.reviewer, last);
  if (same === 'stale' || (!last && uncheckedPasskey(passkeys, current.reviews))) return { result: 'stale', audit: [] };
  const twice = same ? sideError(twiceRefusal(cmd.reviewer, same.twice)) : undefined;
  // A break-glass request that ran is reviewed after the fact: recorded, and nothing else changes.
  if (isAfterTheFact(current)) {
    const stale = staleRefusal(deps, cmd, current.id);
    if (stale) throw stale;
    let m: Mutation<RequestRecord>;
    try {
      if (onSide) throw sideError(onSide);
      if (twice) throw twice;
      m = afterTheFactMutation(deps, current, cmd);
    } catch (e) {
      throw staleRefusal(deps, cmd, current.id, e) ?? e;
    }
    return { ...m, result: { ok: true, request: m.result } };
  }
  const final = FINAL[current.status];
  if (final) throw new CountersignError(final, `request ${current.id} is ${current.status}`, { status: current.status });
  // A review the rules refuse is kept as evidence (a repeated vote is not: it is a second click, not an attempt).
  const refuse = (error: CountersignError, extra: Record<string, unknown> = {}): Mutation<Outcome> => ({
    result: { ok: false, error, request: current },
    audit: [
      {
        type: 'review.refused',
        time: now.toISOString(),
        requestId: current.id,
        actor: cmd.reviewer.id,
        data: { reviewer: cmd.reviewer.id, ...withIdentity(cmd.reviewer), code: error.code, verdict: cmd.verdict, digest: current.digest, ...extra, ...(cmd.via ? { via: cmd.via } : {}) },
      },
    ],
  });
  try {
    assertMayReview(current, cmd.reviewer, deps.identity);
    if (onSide) throw sideError(onSide);
    if (twice) throw twice;
  } catch (e) {
    const stale = staleRefusal(deps, cmd, current.id, e);
    if (stale) return refuse(stale, { signedInAt: cmd.reviewer.staleSignInAt });
    if (isCountersignError(e, 'SELF_APPROVAL_FORBIDDEN') || isCountersignError(e, 'NOT_AN_APPROVER') || isCountersignError(e, 'IDENTITY_NOT_DISTINCT')) return refuse(e);
    throw e;
  }
  const stale = staleRefusal(deps, cmd, current.id);
  if (stale) return refuse(stale, { signedInAt: cmd.reviewer.staleSignInAt });
  if (cmd.digest !== undefined && cmd.digest !== current.digest) {
    // Someone approved an action other than the one stored under this request.
    return refuse(new CountersignError('DIGEST_MISMATCH', 'the request does not have the digest you reviewed'), { reviewedDigest: DIGEST.test(cmd.digest) ? cmd.digest : 'malformed' });
  }
  // A step-up request counts an approval only with this reviewer's passkey confirmation for this request and digest.
  const stepUp = stepUpHolds(cmd.stepUp, 'approve', cmd.reviewer.id, current.id, current.digest) ? { method: cmd.stepUp.method, credentialId: cmd.stepUp.credentialId } : undefined;
  if (cmd.verdict === 'approve' && requiresStepUp(current) && !stepUp) {
    const where = deps.consoleUrl?.(current.id);
    return refuse(stepUpRefused(`request ${current.id} needs every approval confirmed with a passkey${where ? '' : ' in the console'}`, where));
  }
  // Before anything is recorded: a grant the rules do not permit leaves no review behind.
  if (cmd.grant) assertGrantOffer(current, cmd.verdict, cmd.grant);
  const at = now.toISOString();
  const review: Review = {
    requestId: current.id,
    reviewer: reviewerRecord(cmd.reviewer),
    verdict: cmd.verdict,
    comment: cmd.comment,
    digest: current.digest,
    createdAt: at,
    ...(stepUp && cmd.verdict === 'approve' ? { stepUp } : {}),
    ...(cmd.grant ? { grant: { uses: cmd.grant.uses, seconds: cmd.grant.seconds } } : {}),
  };
  const reviews = [...current.reviews, review];
  // What counts: an approval whose passkey has been removed since is confirmed by nothing (removed-passkeys.ts).
  const unchecked = current.reviews.flatMap((r) => (r.stepUp && !passkeys.checked.has(r.stepUp.credentialId) ? [r.stepUp.credentialId] : []));
  const counting = countingReviews(reviews, new Set([...passkeys.removed, ...unchecked]));
  const recorded = {
    type: 'review.recorded',
    time: at,
    requestId: current.id,
    actor: cmd.reviewer.id,
    data: { reviewer: { id: review.reviewer.id, kind: review.reviewer.kind, groups: review.reviewer.groups }, ...withIdentity(cmd.reviewer), verdict: review.verdict, comment: review.comment, digest: review.digest, ...(review.stepUp ? { stepUp: review.stepUp } : {}), ...(review.grant ? { grantOffered: review.grant } : {}), ...(cmd.via ? { via: cmd.via, channelUser: cmd.channelUser ?? null } : {}) },
  };
  if (cmd.verdict === 'deny') {
    const next = { ...transition(current, 'denied', now, { error: { code: 'REVIEW_DENIED', message: `denied by ${cmd.reviewer.id}${cmd.comment ? `: ${cmd.comment}` : ''}` } }), reviews };
    return { result: { ok: true, request: next }, next, review, audit: [recorded, { type: 'request.denied', time: at, requestId: current.id, actor: cmd.reviewer.id, data: { by: 'review', code: 'REVIEW_DENIED', message: next.error?.message ?? null } }] };
  }
  if (quorumMet(approversOf(current), counting, current, deps.identity)) {
    const counted = countedApprovals(counting, current, deps.identity);
    const approvers = counted.map((r) => r.reviewer.id);
    const approved = { type: 'request.approved', time: at, requestId: current.id, actor: null, data: { approvers, digest: current.digest } };
    // The grant, when every counted approval offered one, commits with the approval.
    const grant = grantOfApproval(current, counted, `grt_${deps.ids.requestId().replace(/^req_/, '')}`, now);
    if (grant) {
      const next = { ...transition(current, 'approved', now), reviews, grant: { id: grant.id, uses: grant.uses, expiresAt: grant.expiresAt } };
      return { result: { ok: true, request: next }, next, review, grant, audit: [recorded, approved, { type: 'grant.created', time: at, requestId: current.id, actor: null, data: grantCreatedData(grant) }] };
    }
    const next = { ...transition(current, 'approved', now), reviews };
    return { result: { ok: true, request: next }, next, review, audit: [recorded, approved] };
  }
  const next: RequestRecord = { ...current, reviews, updatedAt: at, version: current.version + 1 };
  return {
    result: { ok: true, request: next },
    next,
    review,
    audit: [{ ...recorded, data: { ...recorded.data, remaining: remainingApprovals(approversOf(current), counting, current, deps.identity) } }],
  };
}
