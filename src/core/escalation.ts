/**
 * Escalation: a rule's ladder of rungs, each notified once a request the rule
 * holds has waited its delay. A fired rung is recorded on the request (and in
 * the audit log as `request.escalated`); from then on its humans are eligible
 * reviewers of that request — they widen the approvers of the rule that named
 * the rung, never another rule's — while the number of approvals each
 * requirement needs stays as the policy said. Who may review therefore
 * derives from the recorded escalations alone.
 */
import type { ApproverRequirement, EscalationRung } from './policy/decision.ts';
import type { RequestRecord } from './request.ts';

/** A rung that fired: the rung as the decision named it, and when. */
export interface FiredEscalation {
  readonly key: string;
  readonly rule: string;
  readonly groups: readonly string[];
  readonly principals: readonly string[];
  readonly at: string;
}

/** One rung as a card shows it: when it is due and, once it fired, when it did. */
export interface LadderRung {
  readonly key: string;
  readonly rule: string;
  readonly afterSeconds: number;
  readonly groups: readonly string[];
  readonly principals: readonly string[];
  readonly dueAt: string;
  readonly firedAt: string | null;
}

/** When a rung falls due: its delay after the request's creation. */
export function rungDueAt(r: Pick<RequestRecord, 'createdAt'>, rung: EscalationRung): Date {
  return new Date(Date.parse(r.createdAt) + rung.afterSeconds * 1000);
}

/**
 * The rungs due at `now` that have not fired, in ladder order; none unless the request is pending.
 *
 * @example
 * dueRungs(request, clock.now()); // [{ key: 'prod-writes#1', … }] fifteen minutes after creation
 */
export function dueRungs(r: RequestRecord, now: Date): EscalationRung[] {
  if (r.status !== 'pending') return [];
  const fired = new Set((r.escalations ?? []).map((e) => e.key));
  return (r.decision.escalations ?? []).filter((rung) => !fired.has(rung.key) && rungDueAt(r, rung).getTime() <= now.getTime());
}

/**
 * When the escalation sweep must look at the request next: its next rung's time while it is pending, else null.
 * Stores keep it in an indexed column, so a sweep reads the requests with a rung due and none of the others.
 *
 * @example
 * escalationDueAt(request); // '2026-12-06T10:15:00.000Z' for a request held at 10:00 by a rule escalating after 15m
 */
export function escalationDueAt(r: RequestRecord): string | null {
  return r.status === 'pending' ? nextRungAt(r) : null;
}

/** The next time one of the request's rungs falls due, or null when none is left. */
export function nextRungAt(r: RequestRecord): string | null {
  const fired = new Set((r.escalations ?? []).map((e) => e.key));
  const next = (r.decision.escalations ?? []).filter((rung) => !fired.has(rung.key)).map((rung) => rungDueAt(r, rung).getTime());
  return next.length ? new Date(Math.min(...next)).toISOString() : null;
}

/**
 * Requirements widened by the escalations that fired: each rung's groups and principals join every requirement
 * of its own rule. The counts stay.
 *
 * @example
 * widened([{ rule: 'r', groups: ['dba'], principals: [], count: 2 }], [{ rule: 'r', groups: ['oncall'], … }]);
 * // [{ rule: 'r', groups: ['dba', 'oncall'], principals: [], count: 2 }]
 */
export function widened(requirements: readonly ApproverRequirement[], fired: readonly FiredEscalation[] | undefined): ApproverRequirement[] {
  if (!fired?.length) return [...requirements];
  return requirements.map((req) => {
    const mine = fired.filter((e) => e.rule === req.rule);
    if (mine.length === 0) return req;
    // A requirement open to anyone but the requester stays so: widening it would narrow it.
    if (req.groups.length === 0 && req.principals.length === 0) return req;
    return {
      ...req,
      groups: [...new Set([...req.groups, ...mine.flatMap((e) => e.groups)])],
      principals: [...new Set([...req.principals, ...mine.flatMap((e) => e.principals)])],
    };
  });
}

/**
 * The fired rungs that `rungs` (the ladder of the policy in force) still names: the same rung of the same rule, due by
 * `now` as that ladder has it, and only with the groups and principals it still names. A rung taken out, sent
 * elsewhere or put later no longer widens who may approve: judged again at run, as the approvers are.
 *
 * @example
 * standingEscalations(request, decisionNow.escalations, clock.now()); // [] once the rule no longer escalates
 */
export function standingEscalations(r: Pick<RequestRecord, 'createdAt' | 'escalations'>, rungs: readonly EscalationRung[] | undefined, now: Date): FiredEscalation[] {
  const standing: FiredEscalation[] = [];
  for (const e of r.escalations ?? []) {
    const rung = (rungs ?? []).find((x) => x.key === e.key && x.rule === e.rule);
    if (!rung || rungDueAt(r, rung).getTime() > now.getTime()) continue;
    const groups = e.groups.filter((g) => rung.groups.includes(g));
    const principals = e.principals.filter((p) => rung.principals.includes(p));
    if (groups.length > 0 || principals.length > 0) standing.push({ ...e, groups, principals });
  }
  return standing;
}

/** The approver requirements of a request as they stand: its decision's, widened by the escalations that fired. */
export function approversOf(r: Pick<RequestRecord, 'decision' | 'escalations'>): ApproverRequirement[] {
  return widened(r.decision.approvers, r.escalations);
}

/** The ladder of a request for display: every rung, when it is due, and when it fired. */
export function ladderOf(r: Pick<RequestRecord, 'decision' | 'escalations' | 'createdAt'>): LadderRung[] {
  return (r.decision.escalations ?? []).map((rung) => ({
    key: rung.key,
    rule: rung.rule,
    afterSeconds: rung.afterSeconds,
    groups: rung.groups,
    principals: rung.principals,
    dueAt: rungDueAt(r, rung).toISOString(),
    firedAt: r.escalations?.find((e) => e.key === rung.key)?.at ?? null,
  }));
}
