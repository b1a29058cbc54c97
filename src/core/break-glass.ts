/**
 * Break-glass: a human of a group a held request's rules name in `breakGlass`
 * runs it at once, on their own authority, with a justification; the request
 * stays flagged until another human reviews it after the fact. Separation of
 * duties still holds: never an agent, never the requester or the human an
 * agent acts for (breaking the glass on one's own agent's request would be a
 * self-approval), and the after-the-fact reviewer is neither the one who broke
 * the glass nor the requester side.
 */
import { CountersignError } from './errors.ts';
import { approversOf } from './escalation.ts';
import { sameIdentity, type HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';
import type { RequestRecord } from './request.ts';
import { currentReviewer, fills, isRequesterSide, reviewerRecord, traitsOf, type Verdict } from './review.ts';

/** The longest justification kept. */
export const MAX_JUSTIFICATION = 2000;

export interface BreakGlass {
  /** The human who broke the glass (canonical id), with their email and token identity to recognise them later. */
  readonly by: string;
  readonly email?: string | null;
  readonly identity?: { readonly issuer: string; readonly subject: string } | null;
  /** The id their credential named them by, where it differs from `by` (see Principal), to resolve them again at run. */
  readonly claimedId?: string | null;
  /**
   * The groups their identity provider's token granted (Review reviewer.tokenGroups): at run, they are in the groups
   * the configuration gives them then and these. Absent (a break-glass recorded before they were kept): none (fail closed).
   */
  readonly tokenGroups?: readonly string[];
  /** The provider's group names behind `tokenGroups` (Review reviewer.providerGroups): a token group stands only while the mapping in force grants it. */
  readonly providerGroups?: readonly string[];
  readonly justification: string;
  readonly at: string;
  /** The request's break-glass groups they were in when they broke it; the run checks them against the policy in force then. */
  readonly groups?: readonly string[];
  /** The passkey they confirmed the break-glass with, where the request needed a step-up (core/step-up.ts). */
  readonly stepUp?: { readonly method: 'webauthn'; readonly credentialId: string };
  /** The after-the-fact review, once given (the first one; it is not given twice). */
  readonly review?: AfterTheFactReview;
}

export interface AfterTheFactReview {
  readonly by: string;
  /** approve: the break-glass was warranted; deny: it was not (a finding to follow up). */
  readonly verdict: Verdict;
  readonly comment: string;
  readonly at: string;
}

/** The justification as kept, or the stable error when there is none worth the name. */
export function checkJustification(text: unknown): string {
  const j = typeof text === 'string' ? text.trim() : '';
  // Words someone can read: zero-width and blank-looking characters (U+200B, U+2800…) alone are no justification.
  if (j.length === 0 || j.length > MAX_JUSTIFICATION || !/[\p{L}\p{N}]/u.test(j)) {
    throw new CountersignError('JUSTIFICATION_REQUIRED', `a break-glass needs a justification in words, of 1 to ${MAX_JUSTIFICATION} characters`);
  }
  return j;
}

/** The request's break-glass groups this human (as the configuration in force sees them) is in. */
export function breakGlassGroupsOf(request: RequestRecord, who: Principal, dir: HumanDirectory): string[] {
  const now = currentReviewer(reviewerRecord(who), dir);
  return now === undefined ? [] : (request.decision.breakGlass ?? []).filter((g) => now.groups.includes(g));
}

function inBreakGlassGroups(request: RequestRecord, who: Principal, dir: HumanDirectory): boolean {
  return breakGlassGroupsOf(request, who, dir).length > 0;
}

/**
 * Whether a break-glass still stands under `decision`, the policy in force when it runs: the policy must still open
 * break-glass to a group the human was in (a policy reloaded since submission may have closed it).
 */
export function breakGlassStands(bg: BreakGlass, decision: { readonly breakGlass?: readonly string[] }): boolean {
  return (bg.groups ?? []).some((g) => (decision.breakGlass ?? []).includes(g));
}

/**
 * Whether the human who broke the glass still may, as the configuration in force when it runs (`dir`) sees them: still
 * a human it knows (core/review.ts currentReviewer), not on the requester side (the agent may act for them now), and
 * still in a group they broke it as that `decision` (the policy in force then) opens break-glass to. A break-glass
 * stands in for the approvals, so it runs nothing its human could not break now, as a review by someone since taken
 * out of the approvers counts for nothing at run.
 *
 * @example
 * breakerStands(request, request.breakGlass, decisionNow, identity); // false once erin has left oncall
 */
export function breakerStands(request: RequestRecord, bg: BreakGlass, decision: { readonly breakGlass?: readonly string[] }, dir: HumanDirectory): boolean {
  const recorded = { id: bg.by, kind: 'human' as const, groups: [], email: bg.email ?? null, identity: bg.identity ?? null, claimedId: bg.claimedId ?? null, tokenGroups: bg.tokenGroups ?? [], ...(bg.providerGroups ? { providerGroups: bg.providerGroups } : {}) };
  const now = currentReviewer(recorded, dir);
  if (!now || isRequesterSide(request, recorded, dir) || isRequesterSide(request, now, dir)) return false;
  return (bg.groups ?? []).some((g) => (decision.breakGlass ?? []).includes(g) && now.groups.includes(g));
}

/**
 * Whether a break-glass meets the step-up `decision` (the policy in force when it runs) asks for: a policy that requires
 * `stepUp: webauthn` accepts only a break-glass confirmed with a passkey, whatever the policy said when it was broken.
 */
export function breakGlassSteppedUp(bg: BreakGlass, decision: { readonly stepUp?: 'webauthn' }): boolean {
  return decision.stepUp !== 'webauthn' || bg.stepUp?.method === 'webauthn';
}

/**
 * Throws BREAK_GLASS_NOT_ALLOWED unless `who` may break the glass on `request` (status aside).
 *
 * @example
 * assertMayBreakGlass(request, oncallHuman, identity); // returns; an agent, the requester side or an outsider throws
 */
export function assertMayBreakGlass(request: RequestRecord, who: Principal, dir: HumanDirectory): void {
  const refuse = (why: string) => new CountersignError('BREAK_GLASS_NOT_ALLOWED', `${who.id} may not break the glass on this request: ${why}`);
  if (who.kind !== 'human') throw refuse('agents never do');
  if (isRequesterSide(request, traitsOf(who), dir)) throw refuse('it is their own request (or one made for them)');
  if (!(request.decision.breakGlass ?? []).length) throw refuse('its rules name no break-glass group');
  if (!inBreakGlassGroups(request, who, dir)) throw refuse(`they are in none of the groups ${(request.decision.breakGlass ?? []).join(', ')}`);
}

/**
 * Throws the stable error that keeps `who` from reviewing a break-glass request after the fact; returns when they
 * may. The reviewer is a human who could have approved it (its approvers, widened by escalations) or who could have
 * broken the glass, never the one who did, never the requester side, and only once per request.
 */
export function assertMayReviewAfter(request: RequestRecord, who: Principal, dir: HumanDirectory): void {
  const bg = request.breakGlass;
  if (!bg) throw new CountersignError('REQUEST_ALREADY_DECIDED', `request ${request.id} is ${request.status}`, { status: request.status });
  if (who.kind !== 'human') throw new CountersignError('AGENT_CANNOT_REVIEW', `${who.id} is an agent; only humans review`);
  const traits = traitsOf(who);
  if (isRequesterSide(request, traits, dir)) {
    throw new CountersignError('SELF_APPROVAL_FORBIDDEN', `${who.id} asked for this request (or is the human it acts for) and cannot review it`);
  }
  if (sameIdentity(traits, { id: bg.by, email: bg.email ?? null, identity: bg.identity ?? null }, { mailbox: true })) {
    throw new CountersignError('SELF_APPROVAL_FORBIDDEN', `${who.id} broke the glass on this request and cannot review it after the fact`);
  }
  const now = currentReviewer(reviewerRecord(who), dir);
  if (!now || (!approversOf(request).some((r) => fills(r, now)) && !inBreakGlassGroups(request, who, dir))) {
    throw new CountersignError('NOT_AN_APPROVER', `${who.id} is neither an approver of this request nor in its break-glass groups`);
  }
  if (bg.review) throw new CountersignError('ALREADY_REVIEWED', `request ${request.id} was reviewed after the fact by ${bg.review.by}`);
}

/** Whether a review of this request now is an after-the-fact review of a break-glass. */
export function isAfterTheFact(request: RequestRecord): boolean {
  return request.breakGlass !== undefined && (request.status === 'succeeded' || request.status === 'failed');
}
