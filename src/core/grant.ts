/**
 * Scoped grants: a reviewer approving a held request may approve, with it, the next N actions of the same shape by
 * the same principal for T (README, "Scoped grants"). Only where every rule holding the request carries `grant`
 * (policy/evaluate.ts intersects them), within its caps, and only when every counted approval offered one.
 *
 * A shape is what must stay the same between uses: the requesting principal (its id, kind, the human it acts for and
 * the identity a token vouched for), the connection and the target it points at, the operation, the facts, the input except the rule's `vary`
 * paths, and the rules that hold it with their approvers, grant terms and step-up under the policy in force. Its digest is
 * SHA-256 over the canonical JSON of all that, the `vary` values replaced by a fixed marker.
 */
import type { Action } from './action.ts';
import type { ConnectionInfo } from './connection.ts';
import { canonicalJson, sha256Hex } from './digest.ts';
import { CountersignError } from './errors.ts';
import { sameIdentity, type HumanDirectory, type HumanTraits } from './human-identity.ts';
import type { Decision, EscalationRung } from './policy/decision.ts';
import { canonicalIdentity, type Principal } from './principal.ts';
import type { RequestRecord } from './request.ts';
import { currentReviewer, fills, isRequesterSide, quorumMet, reviewerRecord, traitsOf, type Review, type Verdict } from './review.ts';
import { approversOf, standingEscalations, widened } from './escalation.ts';
import type { Role } from './roles.ts';

/** What a vary path's value becomes in a shape: a string no JSON input can hold (a NUL, then a name). */
const VARY_MARKER = '\u0000vary';

export interface GrantOffer {
  /** Uses after the granted request. */
  readonly uses: number;
  readonly seconds: number;
}

/** Who gave a grant, with what recognises them later (their email, their token identity). */
export type GrantGiver = HumanTraits & { readonly id: string };

export interface Grant {
  readonly id: string;
  /** The request whose approval created it. */
  readonly requestId: string;
  readonly principal: { readonly id: string; readonly kind: string; readonly actsFor: string | null };
  readonly connection: string;
  readonly operation: string;
  /** sha256:… of the shape (see shapeDigest). */
  readonly shape: string;
  readonly vary: readonly string[];
  readonly rules: readonly string[];
  readonly uses: number;
  /** Uses consumed so far (the store counts them atomically). */
  readonly used: number;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly by: readonly GrantGiver[];
  readonly revoked: { readonly by: string; readonly at: string } | null;
}

export type GrantStatus = 'active' | 'used-up' | 'expired' | 'revoked';

/** How a request approved by a grant records it: which grant, which use of how many, and the shape it matched. */
export interface GrantUse {
  readonly grantId: string;
  readonly use: number;
  readonly of: number;
  readonly shape: string;
}

/**
 * The input with each `vary` path's value replaced by the marker and the kind of JSON value it is, where the path is
 * there (its parent an object holding it). The value may differ, never its kind: a reviewer who saw an amount approved
 * other numbers, not an object, a list or a string standing in its place, which the target may read otherwise. An
 * absent path stays absent: a grant on an input without it does not cover one that adds it, nor the other way round
 * (the reviewer saw no amount, the target's default; the agent names one of its choosing).
 *
 * @example
 * varied({ sql: 'select $1', params: [7] }, ['params']); // { sql: 'select $1', params: '\u0000vary array' }
 */
export function varied(input: unknown, vary: readonly string[]): unknown {
  const copy: unknown = input === undefined ? undefined : JSON.parse(JSON.stringify(input));
  for (const path of vary) {
    const keys = path.split('.');
    let at: unknown = copy;
    for (const k of keys.slice(0, -1)) {
      at = isObject(at) && Object.hasOwn(at, k) ? at[k] : undefined;
    }
    const last = keys[keys.length - 1]!;
    if (isObject(at) && Object.hasOwn(at, last)) at[last] = `${VARY_MARKER} ${kindOf(at[last])}`;
  }
  return copy;
}

/** The kind of a JSON value, as a shape keeps it for a vary path. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The shape digest of an action as `decision` (the policy in force) holds it; undefined when that decision permits
 * no grant. `target` is the fingerprint of where the connection pointed when the request was submitted
 * (RequestRecord.connectionTarget): a grant given for one upstream approves nothing on another the configuration
 * has since put under the same connection name.
 *
 * @example
 * shapeDigest(principal, connection, action, facts, decision, request.connectionTarget); // 'sha256:…'
 */
export function shapeDigest(principal: Principal, connection: ConnectionInfo, action: Action, facts: unknown, decision: Decision, target?: string): string | undefined {
  if (decision.effect !== 'approve' || !decision.grant) return undefined;
  const shape = {
    principal: { id: principal.id, kind: principal.kind, actsFor: principal.actsFor, identity: canonicalIdentity(principal) },
    // The target only where the request recorded one (requests stored before targets were kept have none).
    connection: { name: connection.name, kind: connection.kind, ...(target !== undefined ? { target } : {}) },
    operation: action.operation,
    facts,
    input: varied(action.input, decision.grant.vary),
    rules: decision.rules,
    approvers: decision.approvers,
    terms: decision.grant,
    // Only when set, so the shapes of grants made before step-up existed stay the same.
    ...(decision.stepUp ? { stepUp: decision.stepUp } : {}),
  };
  return `sha256:${sha256Hex(canonicalJson(shape))}`;
}

/**
 * Throws GRANT_NOT_ALLOWED unless `offer` fits the request's grant terms (a verdict of approve, every holding rule
 * permitting grants, within their uses and duration).
 */
export function assertGrantOffer(request: RequestRecord, verdict: Verdict, offer: GrantOffer): void {
  const terms = request.decision.effect === 'approve' ? request.decision.grant : undefined;
  const refuse = (why: string) => new CountersignError('GRANT_NOT_ALLOWED', `no grant on request ${request.id}: ${why}`);
  if (verdict !== 'approve') throw refuse('a grant goes with an approval, never a deny');
  if (!terms) throw refuse('not every rule holding it permits grants');
  // A wire session's statement ran in that session's state (its role, search_path, transaction): never a pattern.
  if (request.runsIn === 'session') throw refuse('it runs inside a PostgreSQL wire session');
  if (!Number.isSafeInteger(offer.uses) || offer.uses < 1 || offer.uses > terms.maxUses) throw refuse(`uses must be 1 to ${terms.maxUses}`);
  if (!Number.isSafeInteger(offer.seconds) || offer.seconds < 1 || offer.seconds > terms.maxDurationSeconds) {
    throw refuse(`the duration must be 1 to ${terms.maxDurationSeconds} seconds`);
  }
}

/**
 * The grant an approval creates, or undefined: only when every counted approval offered one (the least uses and
 * the shortest time of the offers) and the decision still permits it.
 */
export function grantOfApproval(request: RequestRecord, counted: readonly Review[], id: string, now: Date): Grant | undefined {
  const shape = shapeDigest(request.principal, request.connection, request.action, request.facts, request.decision, request.connectionTarget);
  const terms = request.decision.grant;
  const offers = counted.map((r) => r.grant);
  if (!shape || !terms || offers.length === 0 || offers.some((o) => o === undefined)) return undefined;
  const uses = Math.min(terms.maxUses, ...offers.map((o) => o!.uses));
  const seconds = Math.min(terms.maxDurationSeconds, ...offers.map((o) => o!.seconds));
  return {
    id,
    requestId: request.id,
    principal: { id: request.principal.id, kind: request.principal.kind, actsFor: request.principal.actsFor },
    connection: request.action.connection,
    operation: request.action.operation,
    shape,
    vary: terms.vary,
    rules: request.decision.rules,
    uses,
    used: 0,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
    by: counted.map((r) => ({ id: r.reviewer.id, email: r.reviewer.email ?? null, identity: r.reviewer.identity ?? null })),
    revoked: null,
  };
}

/**
 * Whether the approvals that made a grant would still make it under the configuration in force (`dir`, and `rungs`,
 * the escalation ladder of the policy in force for the action the grant would approve): the approvals of its request
 * that offered a grant, each counted as core/review.ts counts one now (a reviewer since removed counts for nothing,
 * one taken out of a group no longer fills it), must still meet that request's requirements, widened only by the
 * rungs that ladder still names (a human who could approve through a rung since taken out no longer fills it, as at
 * run: service/execute.ts). A grant stands in for those approvals, so it approves nothing they would no longer approve.
 *
 * @example
 * grantGiversCount(grantingRequest, identity, decisionNow.escalations, clock.now()); // false once the only granting reviewer left the approvers' group
 */
export function grantGiversCount(granting: RequestRecord, dir: HumanDirectory, rungs: readonly EscalationRung[] | undefined, now: Date): boolean {
  const offered = granting.reviews.filter((r) => r.verdict === 'approve' && r.grant !== undefined);
  const approvers = widened(granting.decision.approvers, standingEscalations(granting, rungs, now));
  return offered.length > 0 && quorumMet(approvers, offered, granting, dir);
}

/** Where a grant stands at `now`. */
export function grantStatus(g: Grant, now: Date): GrantStatus {
  if (g.revoked) return 'revoked';
  if (g.used >= g.uses) return 'used-up';
  return g.expiresAt <= now.toISOString() ? 'expired' : 'active';
}

/**
 * Throws GRANT_NOT_ALLOWED unless `who` may revoke `grant`: never an agent; an admin; one of the humans who gave it;
 * a human eligible to approve its request now (not its requester side). `request` is the granted request.
 */
export function assertMayRevokeGrant(grant: Grant, request: RequestRecord | undefined, who: Principal, roles: readonly Role[], dir: HumanDirectory): void {
  const refuse = (why: string) => new CountersignError('GRANT_NOT_ALLOWED', `${who.id} may not revoke grant ${grant.id}: ${why}`);
  if (who.kind !== 'human') throw refuse('agents never do');
  if (roles.includes('admin')) return;
  const traits = traitsOf(who);
  if (grant.by.some((b) => sameIdentity(b, traits))) return;
  if (request && !isRequesterSide(request, traits, dir)) {
    const now = currentReviewer(reviewerRecord(who), dir);
    if (now && approversOf(request).some((r) => fills(r, now))) return;
  }
  throw refuse('only its granting reviewers, an approver of its request or an admin may');
}

/**
 * The seconds of a grant's duration as a client writes it: a whole number of seconds, or `90s`, `30m`, `2h`, `1d`.
 *
 * @example
 * grantSeconds('30m'); // 1800
 */
export function grantSeconds(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = /^(\d{1,7})(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new CountersignError('INVALID_REQUEST', 'a grant duration such as 90s, 30m or 2h');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}
