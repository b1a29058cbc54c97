/**
 * The coverage map: for each row (a principal, any member of a group, any
 * principal from an issuer), each connection and each operation class of its
 * kind, what the policy can decide — with no action in hand. A rule whose
 * condition reads only values the row and the class fix (reach.ts does the
 * same for one tool) is evaluated on the class's samples: it certainly
 * matches, certainly does not, or certainly fails (which denies). Any other
 * rule, or one whose samples disagree, is conditional: it might match.
 *
 * With C the rules certain to match and D the conditional ones, the possible
 * outcomes are outcome(C) and outcome(C ∪ {d}) for each d in D, each computed
 * by the live evaluator (evaluate.ts) so precedence and approver accumulation
 * are the gateway's own. More conditional rules matching at once give no
 * other effect (the most restrictive of them wins). An action on which a rule
 * fails to evaluate, or that exceeds the evaluation bounds, is denied: that
 * possibility is not listed. The map is sound for `allow`: if some action of
 * a class can be allowed outright, `allow` is among the cell's outcomes.
 */
import { OPERATION_BY_KIND } from '../action.ts';
import type { ApproverRequirement, Effect } from './decision.ts';
import type { CompiledPolicy, CompiledRule, Outcome, PolicyVariables } from './compile.ts';
import { evaluatePolicy } from './evaluate.ts';
import { isProdConnection, operationClasses, type CoverageConnection, type OperationClass } from './coverage-classes.ts';
import type { CoverageSubject } from './coverage-subjects.ts';
import type { Facts } from '../facts.ts';

/** One way a cell can be decided. */
export interface CoverageOutcome {
  readonly effect: Effect;
  /** The conditional rule whose matching (or failing, `fails`) leads here; null: when no conditional rule matches. */
  readonly via: { readonly rule: string; readonly when: string; readonly fails?: true } | null;
  /** Every rule that matches on this way, in policy order. */
  readonly rules: readonly string[];
  /** For `approve`: who must approve, accumulated over the matching approve rules. */
  readonly approvers: readonly ApproverRequirement[];
  readonly message: string | null;
}

export interface CoverageCell {
  readonly row: string;
  readonly connection: string;
  readonly class: string;
  /** The one possible effect, or null when it depends on the action. */
  readonly certain: Effect | null;
  /** Every possible effect: allow, approve, deny in that order. */
  readonly possible: readonly Effect[];
  readonly outcomes: readonly CoverageOutcome[];
  /** A writing class on an `env: prod` connection that some action can run with no human review. */
  readonly unreviewedProd: boolean;
  readonly reason: string | null;
}

export interface CoverageMap {
  readonly version: 1;
  readonly policyHash: string;
  readonly default: Effect;
  readonly connections: readonly {
    readonly name: string;
    readonly kind: string;
    readonly tags: Readonly<Record<string, unknown>>;
    readonly prod: boolean;
    readonly classes: readonly { readonly id: string; readonly label: string; readonly writes: boolean }[];
  }[];
  readonly rows: readonly { readonly key: string; readonly type: string; readonly name: string; readonly label: string; readonly kind: string | null; readonly groups: readonly string[] }[];
  readonly cells: readonly CoverageCell[];
  /** How many cells are `unreviewedProd`. */
  readonly unreviewedProd: number;
}

const EFFECTS: readonly Effect[] = ['allow', 'approve', 'deny'];

type Result = 'match' | 'miss' | { fails: string };

const under = (fixed: readonly (readonly string[])[]) => (path: readonly string[]) =>
  fixed.some((prefix) => prefix.length <= path.length && prefix.every((seg, i) => path[i] === seg));

/** The value at `path` below `value`, undefined where it has none. */
function valueAt(value: unknown, path: readonly string[]): unknown {
  let at = value;
  for (const seg of path) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[seg] : undefined;
  return at;
}

/** Indexes of the samples that differ on what `paths` read below `root` (the first of each kind). */
function distinct(samples: readonly unknown[], paths: readonly (readonly string[])[], root: string): number[] {
  const below = paths.filter((p) => p[0] === root).map((p) => p.slice(1));
  if (below.length === 0) return [0];
  const seen = new Set<string>();
  const out: number[] = [];
  samples.forEach((sample, i) => {
    const key = JSON.stringify(below.map((p) => valueAt(sample, p)));
    if (!seen.has(key)) out.push(i);
    seen.add(key);
  });
  return out;
}

/** Whether `path` lies under one of `fixed`, or is one of their ancestors. */
const keptUnder = (fixed: readonly (readonly string[])[]) => (path: readonly string[]) =>
  path.length === 1 || fixed.some((prefix) => prefix.every((seg, i) => i >= path.length || path[i] === seg));

/** `value` with everything not kept removed: reading a removed field fails, it never gives a value. */
function pruned(value: unknown, path: string[], kept: (path: readonly string[]) => boolean, isFixed: (path: readonly string[]) => boolean): unknown {
  if (isFixed(path) || value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (kept([...path, k])) out[k] = pruned(v, [...path, k], kept, isFixed);
  return out;
}

// Constructs that observe a field's absence without failing: `has()`, and optional selection.
const OBSERVES_ABSENCE = /\bhas\s*\(|\.\?|\[\?/;

/**
 * What each rule gives on a cell: the same on every sample (certain), or not knowable without the action.
 * A rule that also reads what the action alone tells is tried on the samples with those fields removed:
 * CEL's `&&`, `||` and macros give a value without the failing side when the other decides
 * (`connection.name == "db" && "orders" in facts.sql.tables` is false on another connection), and that
 * value is the same whatever the removed fields hold. A rule that can tell a removed field from a
 * missing one (has(), optional selection, a whole map that holds some) is not tried.
 */
function judgeRules(policy: CompiledPolicy, subject: CoverageSubject, conn: CoverageConnection, cls: OperationClass) {
  const fixed = [...subject.fixed, ['connection'], ['action', 'connection'], ['action', 'operation'], ...cls.fixed];
  const isFixed = under(fixed);
  const kept = keptUnder(fixed);
  const sessions = new Map<string, { vars: PolicyVariables; evaluate: (rule: CompiledRule) => Outcome }>();
  const sessionFor = (pi: number, fi: number, prune: boolean) => {
    const key = `${pi}/${fi}/${prune}`;
    let s = sessions.get(key);
    if (!s) {
      const all: PolicyVariables = {
        principal: subject.samples[pi],
        action: { connection: conn.info.name, operation: OPERATION_BY_KIND[conn.info.kind], input: {}, reason: '' },
        connection: { name: conn.info.name, kind: conn.info.kind, tags: conn.info.tags },
        facts: cls.samples[fi] as Facts,
        context: { time: new Date(0), request: {} },
      };
      const vars = prune ? (pruned(all, [], (p) => p.length === 0 || kept(p), isFixed) as PolicyVariables) : all;
      s = { vars, evaluate: policy.session(vars) };
      sessions.set(key, s);
    }
    return s;
  };
  // One session's step budget is shared by the rules it runs: a rule on fixed values that fails is evaluated again
  // on a session of its own, so that what other rules spent here does not make it a certain deny. (With fields
  // removed, a failure only makes the rule conditional.)
  const outcome = (pi: number, fi: number, prune: boolean, rule: CompiledRule): Outcome => {
    const s = sessionFor(pi, fi, prune);
    const o = s.evaluate(rule);
    return o.ok || prune ? o : policy.session(s.vars)(rule);
  };
  const certain = new Map<CompiledRule, Outcome>();
  const conditional: { rule: CompiledRule; mayFail: string | null }[] = [];
  for (const rule of policy.rules) {
    const allFixed = rule.paths.every(isFixed);
    if (!allFixed && (OBSERVES_ABSENCE.test(rule.spec.when) || !rule.paths.every((p) => isFixed(p) || !kept(p)))) {
      conditional.push({ rule, mayFail: null });
      continue;
    }
    // Only the samples that differ on what the rule reads.
    const ps = distinct(subject.samples, rule.paths, 'principal');
    const fs = distinct(cls.samples, rule.paths, 'facts');
    const results: Result[] = [];
    for (const pi of ps)
      for (const fi of fs) {
        const o = outcome(pi, fi, !allFixed, rule);
        results.push(!o.ok ? { fails: o.message } : typeof o.value !== 'boolean' ? { fails: `yields ${typeof o.value}, not bool` } : o.value ? 'match' : 'miss');
      }
    const failure = results.find((r): r is { fails: string } => typeof r === 'object');
    if (results.every((r) => r === 'match')) certain.set(rule, { ok: true, value: true });
    else if (results.every((r) => r === 'miss')) continue;
    // A failure with fields removed may come from them: only a rule on fixed values surely fails.
    else if (allFixed && failure && results.every((r) => typeof r === 'object')) certain.set(rule, { ok: false, message: failure.fails });
    else conditional.push({ rule, mayFail: allFixed ? (failure?.fails ?? null) : null });
  }
  return { certain, conditional };
}

/** The live evaluator over the chosen rules' outcomes: precedence and approvers exactly as the gateway decides. */
function outcomeOf(policy: CompiledPolicy, chosen: ReadonlyMap<CompiledRule, Outcome>) {
  const view: CompiledPolicy = { spec: policy.spec, hash: policy.hash, rules: policy.rules.filter((r) => chosen.has(r)), session: () => (r) => chosen.get(r) ?? { ok: true, value: false } };
  return evaluatePolicy(view, {} as PolicyVariables);
}

function unreviewedReason(outcomes: readonly CoverageOutcome[]): string {
  const allows = outcomes.filter((o) => o.effect === 'allow');
  const how = (o: CoverageOutcome) =>
    o.via ? `when ${o.via.when} (rule ${o.via.rule})` : o.rules.length ? `by rule ${o.rules.join(', ')}` : 'by the default (no rule matches)';
  if (outcomes.length === allows.length) return `always allowed ${how(allows[0] as CoverageOutcome)}`;
  return `allowed with no review ${allows.map(how).join('; or ')}`;
}

/**
 * @example
 * coverageCell(policy, principalSubject(bot), { info: ordersDb }, operationClasses({ info: ordersDb })[1]).possible; // ['approve', 'deny']
 */
export function coverageCell(policy: CompiledPolicy, subject: CoverageSubject, conn: CoverageConnection, cls: OperationClass): CoverageCell {
  const { certain, conditional } = judgeRules(policy, subject, conn, cls);
  const ways: { via: CoverageOutcome['via']; chosen: Map<CompiledRule, Outcome> }[] = [{ via: null, chosen: new Map(certain) }];
  for (const { rule, mayFail } of conditional) {
    ways.push({ via: { rule: rule.spec.id, when: rule.spec.when }, chosen: new Map(certain).set(rule, { ok: true, value: true }) });
    if (mayFail !== null) ways.push({ via: { rule: rule.spec.id, when: rule.spec.when, fails: true }, chosen: new Map(certain).set(rule, { ok: false, message: mayFail }) });
  }
  const outcomes = ways.map(({ via, chosen }): CoverageOutcome => {
    const d = outcomeOf(policy, chosen);
    return { effect: d.effect, via, rules: d.rules, approvers: d.approvers, message: d.message };
  });
  const possible = EFFECTS.filter((e) => outcomes.some((o) => o.effect === e));
  const unreviewedProd = isProdConnection(conn.info) && cls.writes && possible.includes('allow');
  return {
    row: subject.key,
    connection: conn.info.name,
    class: cls.id,
    certain: possible.length === 1 ? (possible[0] as Effect) : null,
    possible,
    outcomes,
    unreviewedProd,
    reason: unreviewedProd ? unreviewedReason(outcomes) : null,
  };
}

/**
 * @example
 * coverageMap(policy, [principalSubject(bot), groupSubject('sre', ['sre'])], [{ info: ordersDb }]).unreviewedProd; // 0
 */
export function coverageMap(policy: CompiledPolicy, subjects: readonly CoverageSubject[], connections: readonly CoverageConnection[]): CoverageMap {
  const classes = connections.map((c) => ({ conn: c, classes: operationClasses(c) }));
  const cells = subjects.flatMap((s) => classes.flatMap(({ conn, classes: cs }) => cs.map((cls) => coverageCell(policy, s, conn, cls))));
  return {
    version: 1,
    policyHash: policy.hash,
    default: policy.spec.default,
    connections: classes.map(({ conn, classes: cs }) => ({
      name: conn.info.name,
      kind: conn.info.kind,
      tags: conn.info.tags,
      prod: isProdConnection(conn.info),
      classes: cs.map((c) => ({ id: c.id, label: c.label, writes: c.writes })),
    })),
    rows: subjects.map((s) => ({ key: s.key, type: s.type, name: s.name, label: s.label, kind: s.kind, groups: s.groups })),
    cells,
    unreviewedProd: cells.filter((c) => c.unreviewedProd).length,
  };
}
