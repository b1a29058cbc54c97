/**
 * Comparing two policies' decisions on the same action, and grouping the
 * differences for a reader: shared by the shadow policy (a candidate
 * evaluated beside the live one on live traffic) and replay (a candidate
 * evaluated on the recorded actions of the audit log).
 */
import type { ApproverRequirement, Decision } from './decision.ts';

/** The part of a decision a comparison looks at, as an audit event keeps it. */
export interface DecisionSide {
  /** `error` when the candidate could not be evaluated at all. */
  readonly effect: Decision['effect'] | 'error';
  readonly rules: readonly string[];
  readonly approvers: readonly ApproverRequirement[];
  readonly policyHash: string;
  readonly errors?: readonly { readonly rule: string; readonly message: string }[];
}

export function decisionSide(d: Decision): DecisionSide {
  return { effect: d.effect, rules: d.rules, approvers: d.approvers, policyHash: d.policyHash, ...(d.errors.length ? { errors: d.errors } : {}) };
}

/** One requirement in a canonical form: which rule asked does not change who must approve. */
function requirementKey(a: ApproverRequirement): string {
  return JSON.stringify([a.count, [...a.groups].sort(), [...a.principals].sort()]);
}

/**
 * Whether the candidate would decide otherwise: another effect, or both hold
 * the action but ask for other approvers. The rules that matched alone do not
 * count: a renamed rule that decides the same is no change.
 *
 * @example
 * decisionsDiffer({ effect: 'allow', … }, { effect: 'deny', … }); // true
 */
export function decisionsDiffer(live: DecisionSide, candidate: DecisionSide): boolean {
  if (live.effect !== candidate.effect) return true;
  if (live.effect !== 'approve') return false;
  const a = live.approvers.map(requirementKey).sort();
  const b = candidate.approvers.map(requirementKey).sort();
  return a.length !== b.length || a.some((k, i) => k !== b[i]);
}

/** One action whose decision would change. */
export interface DecisionChange {
  readonly requestId: string;
  readonly principal: string;
  readonly connection: string;
  readonly time: string;
  readonly live: DecisionSide;
  readonly candidate: DecisionSide;
  /** A short, single-line summary of the input (replay; masked values stay masked). */
  readonly input?: string;
  /** Replay only: the facts were the recorded ones, not derived again (the connection is gone, or mcp). */
  readonly factsAsRecorded?: boolean;
}

/** Changes that share a transition and the rules behind it. */
export interface ChangeGroup {
  /** `allow → deny`; `approve → approve` when only the approvers differ. */
  readonly transition: string;
  /** Candidate rules that match where the live ones did not. */
  readonly nowMatching: readonly string[];
  /** Live rules that no longer match under the candidate. */
  readonly noLongerMatching: readonly string[];
  readonly count: number;
  /** The first few changes of the group, oldest first. */
  readonly examples: readonly DecisionChange[];
}

/**
 * Groups changes by transition and rules, the largest group first.
 *
 * @example
 * groupChanges(changes, 3)[0]; // { transition: 'allow → deny', nowMatching: ['drop-tables-deny'], noLongerMatching: [], count: 12, examples: [...] }
 */
export function groupChanges(changes: readonly DecisionChange[], examples = 3): ChangeGroup[] {
  const groups = new Map<string, { transition: string; nowMatching: string[]; noLongerMatching: string[]; count: number; examples: DecisionChange[] }>();
  for (const c of changes) {
    const nowMatching = c.candidate.rules.filter((r) => !c.live.rules.includes(r));
    const noLongerMatching = c.live.rules.filter((r) => !c.candidate.rules.includes(r));
    const transition = `${c.live.effect} → ${c.candidate.effect}`;
    const key = JSON.stringify([transition, nowMatching, noLongerMatching]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { transition, nowMatching, noLongerMatching, count: 0, examples: [] }));
    g.count++;
    if (g.examples.length < examples) g.examples.push(c);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.transition.localeCompare(b.transition));
}

/**
 * The group's rules in words: `rule drop-tables-deny`, `no longer rule sql-reads`, or the candidate's
 * matching rules where the same rules decide otherwise (a rule whose effect changed).
 */
export function groupLabel(g: ChangeGroup, example?: DecisionChange): string {
  const parts = [...g.nowMatching.map((r) => `rule ${r}`), ...g.noLongerMatching.map((r) => `no longer rule ${r}`)];
  if (parts.length) return parts.join(', ');
  const rules = example?.candidate.rules ?? [];
  return rules.length ? `rules ${rules.join(', ')} (changed)` : 'no rule (the default)';
}
