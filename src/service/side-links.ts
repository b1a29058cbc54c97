/**
 * The requester side of a request as the gateway's records of sign-ins link it to people, beyond what the request
 * and the configuration say (core/review.ts isRequesterSide). Only ever refuses a reviewer:
 *  - a configured human on the side who signed in under her configured address: the provider account (issuer and
 *    subject) she signed in with is hers, under any address it has now;
 *  - a human the agent names by a provider's subject or username (`act.sub: 00u1alice`): the person who signed in
 *    under that name is her, with the address and account of that sign-in, whatever credential she reviews with
 *    (a username only adds to the side: anyone may choose one, so only a subject links the name);
 *  - where nothing links them, the reviewer cannot be told apart from her, and the review does not count
 *    (IDENTITY_NOT_DISTINCT): a name no sign-in carried names a person at some provider, who may be anyone with an
 *    account there or elsewhere; and a configured human who never signed in may have an account under another
 *    address by now (changed at the provider), so anyone the configuration does not name may be her (only where
 *    humans sign in to the console, the one place that learns a configured human's account). A configured reviewer
 *    is told apart from her by the configuration; and where humans come from one place only (HumanDirectory
 *    soleHumanPlace), a reviewer known by their names there is told apart from a name by those names;
 *  - for the same reason, an approval by a configured human who never signed in and one by someone the configuration
 *    does not name may be one person's two: the second of them does not count (IDENTITY_NOT_DISTINCT).
 */
import { CountersignError } from '../core/errors.ts';
import { emailKey, nameFold, readsAs, sameIdentity, type HumanTraits } from '../core/human-identity.ts';
import type { KnownHuman } from '../core/known-human.ts';
import { canonicalIdentity, type Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { traitsOf, type Review } from '../core/review.ts';
import type { Deps } from './deps.ts';

interface SideLinks {
  /** Provider accounts of humans on the side, from their sign-ins. */
  readonly accounts: { issuer: string; subject: string }[];
  /** People a name on the side was linked to by a sign-in under it. */
  readonly people: HumanTraits[];
  /** Configured humans on the side whose provider account the gateway has never seen. */
  readonly unseen: string[];
  /** Names on the side (provider subjects, usernames) that no configuration or sign-in links to a person. */
  readonly unlinked: string[];
}

/** Why `who` may not review (or break the glass on) the request in `requestId` by what sign-ins link, if so. */
export type SideRefusal = { readonly code: 'SELF_APPROVAL_FORBIDDEN' | 'IDENTITY_NOT_DISTINCT'; readonly message: string };

async function sideLinks(deps: Pick<Deps, 'identity' | 'store'>, request: Pick<RequestRecord, 'principal'>): Promise<SideLinks> {
  const { principal } = request;
  const links: SideLinks = { accounts: [], people: [], unseen: [], unlinked: [] };
  const names = new Set([principal.actsFor, deps.identity.principal(principal.id)?.actsFor ?? null]);
  const humans = new Set([principal.kind === 'human' ? principal.id : null]);
  let everyone: KnownHuman[] | undefined;
  for (const name of names) {
    if (name === null) continue;
    const like = deps.identity.principal(name) ?? readsAs(name, deps.identity);
    if (like) humans.add(like.kind === 'human' ? like.id : null);
    // An address names its owner on every issuer and channel, compared as emails are.
    else if (emailKey(name) === undefined) {
      everyone ??= await deps.store.knownHumans();
      const fold = nameFold(name);
      const named = (n: unknown) => typeof n === 'string' && nameFold(n) === fold;
      const signedIn = everyone.filter((k) => named(k.subject) || named(k.claimedId));
      // Linked only by a subject, which the provider assigns, spelled exactly (another spelling may be another
      // account): a username is whatever its owner chose, and an account named after someone else's name would
      // otherwise make the person it names one nobody recognises.
      if (!signedIn.some((k) => k.subject === name)) links.unlinked.push(name);
      for (const k of signedIn) {
        const identity = k.issuer && k.subject ? { issuer: k.issuer, subject: k.subject } : null;
        links.people.push({ id: k.id, email: k.email, identity });
        if (identity) links.accounts.push(identity);
      }
    }
  }
  for (const id of humans) {
    const account = id === null ? undefined : await accountOf(deps, id);
    if (account === undefined) continue;
    if (account === null) links.unseen.push(id!);
    else links.accounts.push(account);
  }
  return links;
}

/**
 * The provider account a configured human last signed in with under their configured address; null when they never
 * did (the gateway knows no account of theirs); undefined for anyone the configuration does not name as a human.
 */
async function accountOf(deps: Pick<Deps, 'identity' | 'store'>, id: string): Promise<{ issuer: string; subject: string } | null | undefined> {
  const configured = deps.identity.principal(id);
  if (configured?.kind !== 'human') return undefined;
  const key = configured.email ? emailKey(configured.email) : undefined;
  const known = key === undefined ? undefined : await deps.store.knownHumanByEmail(key);
  return known && known.id === configured.id && known.issuer && known.subject ? { issuer: known.issuer, subject: known.subject } : null;
}

/**
 * What the store says of whether approvers signed in, read before the review's write: the reviewer, and each configured
 * human who had approved the request when it was read. Whether her approval is a second one of someone she cannot be
 * told apart from is judged on the reviews of the row being written (sameAsApprover), not on these.
 */
export interface ApprovalFacts {
  /** Configured humans, by id, and whether they never signed in (the gateway knows no account of theirs). */
  readonly unseen: ReadonlyMap<string, boolean>;
}

/**
 * The sign-in facts an approval by `who` is judged with against `reviews` (those read before the write).
 *
 * @example
 * const facts = await approvalFacts(deps, request.reviews, reviewer); // then sameAsApprover(deps, facts, current.reviews, reviewer)
 */
export async function approvalFacts(deps: Pick<Deps, 'identity' | 'store'>, reviews: readonly Review[], who: Principal): Promise<ApprovalFacts> {
  const unseen = new Map<string, boolean>();
  for (const id of new Set([who.id, ...reviews.filter((r) => r.verdict === 'approve').map((r) => r.reviewer.id)])) {
    const account = await accountOf(deps, id);
    if (account !== undefined) unseen.set(id, account === null);
  }
  return { unseen };
}

/**
 * An approval among `reviews` (the row's, in the write's transaction) by someone `who` cannot be told apart from: a
 * configured human who never signed in, where `who` is not named by the configuration (or the other way round). Under
 * an address changed at the provider, that is one person approving twice. `stale`: a configured human approved after
 * the facts were read, so whether they signed in is not known here (read again, or, `closed`, judged never).
 */
export function sameAsApprover(deps: Pick<Deps, 'identity'>, facts: ApprovalFacts, reviews: readonly Review[], who: Principal, closed: boolean): { readonly twice: string } | 'stale' | undefined {
  const named = (id: string) => deps.identity.principal(id)?.kind === 'human';
  const whoUnseen = named(who.id) ? (facts.unseen.get(who.id) ?? true) : undefined;
  for (const r of reviews) {
    if (r.verdict !== 'approve' || r.reviewer.id === who.id) continue;
    if (whoUnseen !== undefined) {
      if (whoUnseen && !named(r.reviewer.id)) return { twice: r.reviewer.id };
      continue;
    }
    if (!named(r.reviewer.id)) continue;
    const unseen = facts.unseen.get(r.reviewer.id);
    if (unseen === undefined && !closed) return 'stale';
    if (unseen ?? true) return { twice: r.reviewer.id };
  }
  return undefined;
}

/** The refusal of an approval by `who` that may be `twice`'s second (sameAsApprover). */
export function twiceRefusal(who: Principal, twice: string): SideRefusal {
  return {
    code: 'IDENTITY_NOT_DISTINCT',
    message: `${who.id} cannot be told apart from ${twice}, who approved this request: one of you is not named by the configuration and the other has never signed in to the console, so this could be one person's second approval; it counts once the configured one has signed in, or from another approver`,
  };
}

/**
 * Whether what the gateway's records of sign-ins link to the request's requester side keeps `who` from reviewing it
 * (see the module header); undefined when they may as far as those records go (the core's rules still apply). A
 * request the store does not hold has no side here (the caller's own checks answer for it). An approval must also
 * come from someone told apart from those who approved before: judged in the review's write (sameAsApprover).
 *
 * @example
 * const refusal = await sideRefusal(deps, 'req_…', reviewer); // { code: 'IDENTITY_NOT_DISTINCT', message } or undefined
 */
export async function sideRefusal(deps: Pick<Deps, 'identity' | 'store' | 'signInIssuer'>, requestId: string, who: Principal): Promise<SideRefusal | undefined> {
  if (who.kind !== 'human') return undefined;
  const request = await deps.store.getRequest(requestId);
  if (!request) return undefined;
  const links = await sideLinks(deps, request);
  const account = canonicalIdentity(who);
  const traits = traitsOf(who);
  if ((account && links.accounts.some((a) => a.issuer === account.issuer && a.subject === account.subject)) || links.people.some((p) => sameIdentity(traits, p, { mailbox: true }))) {
    return { code: 'SELF_APPROVAL_FORBIDDEN', message: `${who.id} signs in with the provider account of a human this request is for, and cannot review it` };
  }
  // Known by their names at the one place humans come from: the core compared those with the name (core/review.ts).
  const namesKnown = who.issuer !== undefined && deps.identity.soleHumanPlace?.(who.issuer) === true;
  const unlinked = links.unlinked[0];
  if (unlinked !== undefined && !namesKnown) {
    return {
      code: 'IDENTITY_NOT_DISTINCT',
      message: `this request's agent acts for ${JSON.stringify(unlinked)}, a name no configured human or console sign-in links to a person, and ${who.id} is not known by the names a provider gives them here, so cannot be told apart from them: it counts once they have signed in to the console with that subject (or the agent names them by configured id or email)`,
    };
  }
  // Only where humans sign in to the console: elsewhere no sign-in ever tells the gateway a configured human's account.
  const unseen = deps.signInIssuer === undefined ? undefined : links.unseen[0];
  if (unseen !== undefined && deps.identity.principal(who.id)?.kind !== 'human') {
    return {
      code: 'IDENTITY_NOT_DISTINCT',
      message: `${who.id} is not named by the configuration, and ${unseen}, whom this request is for, has never signed in to the console: an account under another address could be theirs; a configured human may review, or anyone once ${unseen} has signed in`,
    };
  }
  return undefined;
}

/** The refusal as the error a review or a break-glass throws. */
export function sideError(r: SideRefusal): CountersignError {
  return new CountersignError(r.code, r.message);
}
