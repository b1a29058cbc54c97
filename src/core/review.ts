/**
 * Reviews, separation of duties and quorum. A review counts once per human,
 * never from the requester, the human the agent acts for, or any agent; each
 * approver requirement needs its own count of distinct eligible humans, and
 * the requirements of one rule distinct humans between them; and
 * only a review given for the request's digest counts, since an approval is
 * for one exact action. Humans are compared by their canonical identity
 * (core/human-identity.ts), which every surface resolves before a review.
 */
import { CountersignError } from './errors.ts';
import { canonicalHuman, emailKey, humanKey, identityKeys, nameFold, readsAs, sameIdentity, type HumanDirectory, type HumanTraits } from './human-identity.ts';
import { canonicalIdentity } from './principal.ts';
import type { Principal } from './principal.ts';
import type { ApproverRequirement } from './policy/decision.ts';
import { approversOf } from './escalation.ts';
import type { RequestRecord } from './request.ts';
import type { GrantOffer } from './grant.ts';

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
    /**
     * The groups the identity provider's token granted (groupMap, trustGroups), apart from configured ones: the
     * only groups kept from review time. Configured groups are looked up again whenever approvals are counted.
     */
    readonly tokenGroups?: readonly string[];
    /**
     * The provider's own group names behind `tokenGroups`, before any mapping: when approvals are counted, a token
     * group counts only while the mapping in force still grants it from these (HumanDirectory mapsGroup).
     */
    readonly providerGroups?: readonly string[];
    /** The id the reviewer's credential named them by, where it differs from `id` (see Principal). */
    readonly claimedId?: string | null;
    /** The chat account a click came from (see Principal): a second click of it counts for no one else, whatever its email then. */
    readonly chatAccount?: string | null;
  };
  readonly verdict: Verdict;
  readonly comment: string;
  /** The digest the reviewer saw: the review is for this exact action. */
  readonly digest: string;
  readonly createdAt: string;
  /** The passkey the reviewer confirmed an approval with, where the request needed a step-up (core/step-up.ts). */
  readonly stepUp?: { readonly method: 'webauthn'; readonly credentialId: string };
  /** A scoped grant the reviewer offered with this approval (core/grant.ts); it comes into being only if every counted approval offered one. */
  readonly grant?: GrantOffer;
}

/** Whether a human with these groups may fill this requirement. */
export function fills(req: ApproverRequirement, reviewer: { id: string; groups: readonly string[] }): boolean {
  if (req.groups.length === 0 && req.principals.length === 0) return true;
  return req.principals.includes(reviewer.id) || req.groups.some((g) => reviewer.groups.includes(g));
}

/** A principal as the traits the review rules compare (an agent's email is not a person's). */
export function traitsOf(p: Principal): HumanTraits {
  return {
    id: p.id,
    email: p.kind === 'human' ? p.email : null,
    identity: canonicalIdentity(p),
    claimedId: p.kind === 'human' ? (p.claimedId ?? null) : null,
    ...(p.kind === 'human' && p.chatAccount ? { chatAccount: p.chatAccount } : {}),
  };
}

/** A configured principal's traits, for comparing with a person known under another of their names. */
function configuredTraits(id: string, dir: HumanDirectory | undefined): HumanTraits[] {
  const p = dir?.principal(id);
  return p ? [{ id: p.id, email: p.kind === 'human' ? p.email : null }] : [];
}

/**
 * Everyone on the requester's side: the requester and the human it acts for as recorded at submission and, with the
 * configuration in force now, as configured now (their configured email; the human a configured agent acts for now).
 */
function requesterSide(request: Pick<RequestRecord, 'principal'>, dir: HumanDirectory | undefined, self: boolean, wide: boolean): HumanTraits[] {
  const { principal } = request;
  const side: HumanTraits[] = self ? [traitsOf(principal)] : [];
  const actsFor = new Set<string>();
  if (principal.actsFor !== null) actsFor.add(principal.actsFor);
  const now = dir?.principal(principal.id);
  if (self && principal.issuer === undefined) side.push(...configuredTraits(principal.id, dir));
  // An agent whose credential vouches for a person's email (a token her provider minted for her, held by a workload)
  // asks with her mailbox: she is on its side, as the human it acts for is. Taken only where that refuses.
  if (self && principal.kind === 'agent' && principal.email) side.push({ id: principal.id, email: principal.email });
  // The human a configured agent acts for is on its side whatever credential it came with: a token for that agent
  // naming someone else (an `actsFor` claim) adds a human to the requester side, never takes the configured one off.
  if (now?.actsFor) actsFor.add(now.actsFor);
  for (const a of actsFor) {
    side.push({ id: a }, ...configuredTraits(a, dir));
    const key = emailKey(a);
    const byEmail = key === undefined ? undefined : dir?.humanByEmail(key);
    if (byEmail) side.push({ id: byEmail.id, email: byEmail.email });
    // Named in another case or in look-alike characters of a configured id (a provider's spelling): them, where that only refuses.
    const like = wide && dir ? readsAs(a, dir) : undefined;
    if (like?.kind === 'human') side.push({ id: like.id, email: like.email });
  }
  return side;
}

/**
 * The requester (by id, email or token identity) and the human an agent acts for are never reviewers of their own
 * request. `self: false` leaves the requester out and asks only about the humans it acts for (whose request an
 * agent's is, for reading and cancelling: a human whose name merely reads as the agent's is neither).
 */
export function isRequesterSide(request: Pick<RequestRecord, 'principal'>, reviewer: HumanTraits | string, dir?: HumanDirectory, opts: { self?: boolean; wide?: boolean } = {}): boolean {
  const who: HumanTraits = typeof reviewer === 'string' ? { id: reviewer } : reviewer;
  // Taken widely by default, where being on the side only ever refuses (a review, a break-glass); who sees what asks
  // exactly (`wide: false`): a sub-address of a side member's mailbox is them, and so may be a person known by an
  // issuer's id claim alone (no email, not configured), to a side member named by an email that issuer did not vouch for,
  // and so is a name spelled in another case or with look-alike or hidden characters (nameFold).
  const wide = opts.wide ?? true;
  const key = (n: string) => (wide ? nameFold(humanKey(n)) : humanKey(n));
  // An agent may name the human it acts for by any of her names at her provider: her username, her subject.
  const names = [who.claimedId, who.identity?.subject, wide ? who.id : undefined].filter((n): n is string => typeof n === 'string').map(key);
  const unlinked = wide && who.email == null && who.identity != null && emailKey(who.id) === undefined && dir?.principal(who.id) === undefined;
  return requesterSide(request, dir, opts.self ?? true, wide).some(
    (t) =>
      sameIdentity(who, t, { mailbox: wide }) ||
      (t.email == null && t.identity == null && names.includes(key(t.id))) ||
      (unlinked && (emailKey(t.id) !== undefined || (t.email != null && emailKey(t.email) !== undefined)) && t.identity?.issuer !== who.identity?.issuer),
  );
}

/**
 * A recorded reviewer as the configuration in force now sees them, or undefined when they no longer count:
 *  - a reviewer from the configuration (no token identity: an API key, a chat account matched to a configured
 *    email) must still be a configured human; their groups are the configured ones now;
 *  - a reviewer from a token keeps the groups that token granted, as recorded and as far as the group mapping in
 *    force still grants them, plus the configured groups of the human they resolve to now (none when the
 *    configuration does not name them);
 *  - either is dropped when their id is now a configured agent, or when the issuer of their token may no longer
 *    name the human they resolve to (`issuers:`, core/human-identity.ts mayName);
 *  - a reviewer from a token of an issuer the configuration no longer takes for humans keeps nothing that token
 *    gave: a configured human counts with their configured groups alone, anyone else not at all.
 * Reviews recorded before token groups were kept apart count no token group (fail closed).
 */
export function currentReviewer(r: Review['reviewer'], dir: HumanDirectory): Review['reviewer'] | undefined {
  // Resolved as their credential named them, by the issuer that vouched for it: one the configuration in force no
  // longer lets name this human (`issuers:`) makes the review no more theirs than a new token of it would be.
  const human = canonicalHuman({ id: r.claimedId ?? r.id, verifiedEmail: r.email ?? null }, dir, r.identity?.issuer);
  if (!human.ok) return undefined;
  // A token of an issuer the configuration no longer takes for humans (removed: compromised, replaced) vouches for
  // nothing more: neither a person known only through it nor the groups it granted.
  const vouched = r.identity != null && dir.issuesHumans?.(r.identity.issuer) !== false;
  if (!human.configured && !vouched) return undefined;
  // And only the groups the mapping in force still grants from what the provider named: a groupMap entry taken out
  // (a provider group too wide, or anyone's to join) grants nothing to an approval it granted before.
  const issuer = vouched ? r.identity!.issuer : undefined;
  const mapped = issuer === undefined ? [] : (r.tokenGroups ?? []).filter((g) => dir.mapsGroup?.(issuer, r.providerGroups, g) !== false);
  const groups = [...new Set([...(human.configured?.groups ?? []), ...mapped])].sort();
  return { ...r, id: human.id, groups, email: human.email ?? r.email ?? null };
}

/** How a review records its reviewer: configured groups as a reminder, token-granted ones apart (see Review). */
export function reviewerRecord(p: Principal): Review['reviewer'] {
  return {
    id: p.id,
    kind: 'human',
    groups: [...p.groups],
    email: p.email,
    identity: canonicalIdentity(p),
    claimedId: p.claimedId ?? null,
    ...(p.chatAccount ? { chatAccount: p.chatAccount } : {}),
    tokenGroups: p.issuer === undefined ? [] : [...(p.tokenGroups ?? [])],
    ...(p.issuer !== undefined && p.providerGroups !== undefined ? { providerGroups: [...p.providerGroups] } : {}),
  };
}

/**
 * Throws the stable error that keeps `reviewer` from reviewing `request`
 * (status aside); returns when they may.
 */
export function assertMayReview(request: RequestRecord, reviewer: Principal, dir?: HumanDirectory): void {
  if (reviewer.kind !== 'human') {
    throw new CountersignError('AGENT_CANNOT_REVIEW', `${reviewer.id} is an agent; only humans review`);
  }
  const who = traitsOf(reviewer);
  if (isRequesterSide(request, who, dir)) {
    throw new CountersignError(
      'SELF_APPROVAL_FORBIDDEN',
      `${reviewer.id} asked for this request (or is the human it acts for) and cannot review it`,
    );
  }
  // Eligible as the configuration in force sees them (see currentReviewer), as their approval will be counted.
  const eligible = dir ? currentReviewer(reviewerRecord(reviewer), dir) : reviewer;
  const requirements = approversOf(request);
  if (!eligible || !requirements.some((r) => fills(r, eligible))) {
    const needed = requirements.flatMap((r) => [...r.groups.map((g) => `group ${g}`), ...r.principals]);
    throw new CountersignError('NOT_AN_APPROVER', `${reviewer.id} is not an approver here; needed: ${needed.join(', ')}`);
  }
  if (request.reviews.some((r) => sameIdentity(r.reviewer, who, { mailbox: true }))) {
    throw new CountersignError('ALREADY_REVIEWED', `${reviewer.id} has already reviewed this request`);
  }
}

/** What counting approvals reads of a request: its requester, its digest and whether its rules require step-up. */
export type Counted = Pick<RequestRecord, 'principal' | 'digest'> & { readonly decision?: { readonly stepUp?: 'webauthn' } };

/**
 * The approvals that count for this request: approving reviews by humans, not
 * from its requester side, given for its digest, one per human (the first).
 * With a directory (every decision passes the configuration in force), each
 * reviewer is as the configuration sees them now (see currentReviewer): one
 * since removed counts for nothing, one taken out of a group no longer fills it.
 * Without one (a display), reviewers are as recorded.
 */
export function countedApprovals(reviews: readonly Review[], request: Counted, dir?: HumanDirectory): Review[] {
  const approvers: Review[] = [];
  // The identity keys of everyone counted so far: sharing one is being one of them (sameIdentity), found in one lookup.
  const seen = new Set<string>();
  for (const r of reviews) {
    if (r.verdict !== 'approve' || r.reviewer.kind !== 'human' || r.digest !== request.digest) continue;
    // Where the rules (as judged now: at run, after a requeue) require step-up, an approval without one counts for nothing.
    if (request.decision?.stepUp === 'webauthn' && !r.stepUp) continue;
    const now = dir ? currentReviewer(r.reviewer, dir) : r.reviewer;
    if (!now) continue;
    if (isRequesterSide(request, r.reviewer, dir) || isRequesterSide(request, now, dir)) continue;
    // A sub-address of a counted reviewer's mailbox is that reviewer (core/human-identity.ts mailboxOf).
    const keys = [...identityKeys(r.reviewer, { mailbox: true }), ...identityKeys(now, { mailbox: true })];
    if (keys.some((k) => seen.has(k))) continue;
    for (const k of keys) seen.add(k);
    approvers.push({ ...r, reviewer: now });
  }
  return approvers;
}

/**
 * Approvals still needed per requirement, counting only distinct eligible humans. Within one rule its requirements
 * are filled by distinct humans ("a dba and a security person" are two people, whoever is in both groups): each
 * requirement of count n is n places, and the counted approvers are assigned to places, one place each, as many as
 * can be (a bipartite matching, see fillRule); `needed` is what each requirement lacks after that assignment. Rules
 * stay apart: a human may fill a place in every rule that holds the request.
 *
 * @example
 * remainingApprovals([{ rule: 'r', groups: ['dba'], … count: 1 }, { rule: 'r', groups: ['security'], … count: 1 }], [approvalByDbaAndSecurityHuman], request);
 * // [{ …, needed: 0 }, { …, needed: 1 }]
 */
export function remainingApprovals(
  requirements: readonly ApproverRequirement[],
  reviews: readonly Review[],
  request: Counted,
  dir?: HumanDirectory,
): { rule: string; groups: readonly string[]; principals: readonly string[]; needed: number }[] {
  const approvers = countedApprovals(reviews, request, dir).map((r) => r.reviewer);
  const filled = new Array<number>(requirements.length).fill(0);
  for (const rule of new Set(requirements.map((r) => r.rule))) {
    const mine = requirements.flatMap((r, i) => (r.rule === rule ? [i] : []));
    const got = fillRule(mine.map((i) => requirements[i]!), approvers);
    mine.forEach((i, k) => (filled[i] = got[k]!));
  }
  return requirements.map((req, i) => ({ rule: req.rule, groups: req.groups, principals: req.principals, needed: Math.max(0, req.count - filled[i]!) }));
}

/**
 * How many places of each requirement (of one rule) distinct approvers fill, in a maximum assignment: each approver
 * fills at most one place. Kuhn's augmenting paths over the places in requirement order, so earlier requirements keep
 * the places they got; sizes are small (a count is at most the approvers there are).
 */
function fillRule(reqs: readonly ApproverRequirement[], approvers: readonly { id: string; groups: readonly string[] }[]): number[] {
  const places = reqs.flatMap((req, i) => new Array<number>(Math.min(req.count, approvers.length)).fill(i));
  // Who may fill which requirement, worked out once rather than on every step of every path.
  const can = reqs.map((req) => approvers.map((a) => fills(req, a)));
  const placeOf = new Array<number>(approvers.length).fill(-1);
  const tryPlace = (place: number, visited: boolean[]): boolean => {
    const row = can[places[place]!]!;
    for (let a = 0; a < approvers.length; a++) {
      if (visited[a] || !row[a]) continue;
      visited[a] = true;
      if (placeOf[a] === -1 || tryPlace(placeOf[a]!, visited)) {
        placeOf[a] = place;
        return true;
      }
    }
    return false;
  };
  // A requirement one of whose places found no approver fills none of its later places either (they are alike, and
  // the places already filled stay filled): those are not searched again.
  const full = new Set<number>();
  for (let p = 0; p < places.length; p++) {
    const req = places[p]!;
    if (full.has(req)) continue;
    // A free approver first: the usual case (everyone who approved fills the place) needs no path through others' places.
    const free = can[req]!.findIndex((ok, a) => ok && placeOf[a] === -1);
    if (free !== -1) placeOf[free] = p;
    else if (!tryPlace(p, new Array<boolean>(approvers.length).fill(false))) full.add(req);
  }
  const filled = new Array<number>(reqs.length).fill(0);
  for (const p of placeOf) if (p !== -1) filled[places[p]!]!++;
  return filled;
}

/** True when every requirement has its count of distinct eligible human approvals, distinct within each rule (see remainingApprovals). */
export function quorumMet(
  requirements: readonly ApproverRequirement[],
  reviews: readonly Review[],
  request: Counted,
  dir?: HumanDirectory,
): boolean {
  return remainingApprovals(requirements, reviews, request, dir).every((r) => r.needed === 0);
}
