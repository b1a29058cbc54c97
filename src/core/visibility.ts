/**
 * Who may see a request. An agent sees its own. A human with a role that
 * reads the audit trail (auditor, admin) sees every request; any other human
 * sees only the requests that concern them: those they made or that act for
 * them, those they are eligible to review (whatever the status now, so a
 * reviewer can open a request after it was decided), and those they reviewed.
 * Everyone is compared by canonical identity, as separation of duties and
 * quorum compare them (core/review.ts), so one person under two credentials
 * sees the same requests, and nobody sees more by naming themselves otherwise.
 */
import { approversOf } from './escalation.ts';
import type { HumanDirectory } from './human-identity.ts';
import { sameIdentity } from './human-identity.ts';
import { knownById, type Principal } from './principal.ts';
import type { RequestRecord } from './request.ts';
import { currentReviewer, fills, isRequesterSide, reviewerRecord, traitsOf } from './review.ts';
import { AUDIT_READERS, hasAnyRole, type Role } from './roles.ts';

/**
 * Whether `viewer` (holding `roles`) may see `r`; `dir` is the configuration in force, by which eligibility is judged.
 *
 * @example
 * maySeeRequest(dave, [], r, identity); // false unless dave asked, may review, or reviewed r
 */
export function maySeeRequest(viewer: Principal, roles: readonly Role[], r: RequestRecord, dir: HumanDirectory): boolean {
  if (viewer.kind !== 'human') return isOwnSide(r, viewer, dir);
  if (hasAnyRole(roles, AUDIT_READERS)) return true;
  const who = traitsOf(viewer);
  if (isOwnSide(r, viewer, dir)) return true;
  if (r.reviews.some((v) => sameIdentity(v.reviewer, who))) return true;
  // Eligible as their approval would be counted now: configured groups as configured, token groups as the token granted.
  const eligible = currentReviewer(reviewerRecord(viewer), dir);
  if (eligible === undefined) return false;
  // So are the humans who may break the glass on it.
  return approversOf(r).some((req) => fills(req, eligible)) || (r.decision.breakGlass ?? []).some((g) => eligible.groups.includes(g));
}

/**
 * Whether `requester` is `viewer` as the request's owner: the same kind and id and, for a principal the configuration
 * does not name, the same token issuer. A configured principal is one whatever credential names it (its API key, a
 * token of an issuer it lists); an unconfigured id is only what its issuer says, and another issuer's token with the
 * same id is another workload in another trust domain. Humans are compared by canonical id (core/human-identity.ts):
 * one person on every issuer by their verified email.
 *
 * @example
 * samePrincipal(workerOfIssuerB, requestOfWorkerOfIssuerA.principal, dir); // false
 */
export function samePrincipal(viewer: Principal, requester: Principal, dir: HumanDirectory): boolean {
  if (viewer.kind !== requester.kind || viewer.id !== requester.id) return false;
  if (viewer.kind === 'human' || dir.principal(viewer.id) !== undefined) return true;
  return (viewer.issuer ?? null) === (requester.issuer ?? null);
}

/**
 * A key naming the principal as samePrincipal tells principals apart, for what is counted or kept per principal
 * (open waits, wire sessions): its id for a human or a configured principal, else its id, kind and token issuer.
 *
 * @example
 * ownerKey(workerOfIssuerA, dir) !== ownerKey(workerOfIssuerB, dir); // true
 */
export function ownerKey(p: Principal, dir: Pick<HumanDirectory, 'principal'>): string {
  return knownById(p, dir.principal(p.id)) ? p.id : `${p.id}\n${p.kind}\n${p.issuer ?? ''}`;
}

/**
 * Whether `viewer` is on the side that owns `r` (reads it as theirs, may cancel it): its requester (samePrincipal),
 * or a human the requester is or acts for (core/review.ts isRequesterSide). A human whose name merely reads as an
 * agent requester's is not that agent: only the humans it acts for are on its side.
 *
 * @example
 * isOwnSide(request, carol, dir); // true when the request's agent acts for carol
 */
export function isOwnSide(r: Pick<RequestRecord, 'principal'>, viewer: Principal, dir: HumanDirectory): boolean {
  if (viewer.kind !== 'human') return samePrincipal(viewer, r.principal, dir);
  // Exactly: a sub-address of the requester's mailbox is kept from approving, never shown her requests.
  return isRequesterSide(r, traitsOf(viewer), dir, { self: r.principal.kind === 'human', wide: false });
}
