/**
 * Compiles every rule's CEL condition once, at load, and checks it: syntax,
 * the fields it reads against the declared variables (facts per kind,
 * principal, connection, context), CEL's type check with those
 * declarations, and the constructs refused because they would not behave as
 * CEL specifies (check.ts). Every problem of every rule is reported at once;
 * a policy is never half-loaded.
 */
import { canonicalJson, sha256Hex } from '../digest.ts';
import { CountersignError } from '../errors.ts';
import { withoutQuotedValues } from '../quoted-values.ts';
import { celValue, DEFAULT_EVALUATION_LIMITS, Meter, readTree, type EvaluationLimits } from './bounds.ts';
import { constructProblems, foldedKeyProblems, headerNameProblems, pathProblems, rawHttpProblems } from './check.ts';
import { INTERNAL_PREFIX, policyEnvironment, POLICY_VARIABLES, rewrite, type PolicyEnvironment } from './environment.ts';
import { conditionPaths } from './paths.ts';
import type { PolicySpec, RuleSpec } from './spec.ts';
import { POLICY_VARIABLE_TYPES } from './variables.ts';

export { POLICY_VARIABLES } from './environment.ts';

export type PolicyVariables = Record<(typeof POLICY_VARIABLES)[number], unknown>;

export interface CompiledRule {
  readonly spec: RuleSpec;
  readonly index: number;
  /** Every path from a variable the condition reads (see paths.ts). */
  readonly paths: readonly (readonly string[])[];
}

/** What one rule's condition gave: a value (a decision needs a bool), or why it has none. */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

export interface CompiledPolicy {
  readonly spec: PolicySpec;
  readonly hash: string;
  readonly rules: readonly CompiledRule[];
  /**
   * Starts one bounded evaluation over `vars` (bounds.ts): the returned
   * function evaluates rules, all within one step budget and one deadline.
   * Variables over the limits make every rule fail.
   */
  session(vars: PolicyVariables, limits?: EvaluationLimits): (rule: CompiledRule) => Outcome;
}

const ROOTS: ReadonlySet<string> = new Set(POLICY_VARIABLES);

/** The first line of an error's message, in the names the condition was written with. */
export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n')[0] ?? '').replaceAll(INTERNAL_PREFIX, '');
}

/**
 * An evaluation error as a decision records it: the values it quotes left out. A CEL error quotes the value it
 * failed on (`bool()`, `duration()`, a pattern built from the input, a key looked up by an input value), and that
 * value may be a header or a path the audit log masks; the rule id and the kind of failure say enough.
 *
 * @example
 * evaluationErrorText(new Error('bool() conversion error: invalid string value "s3cret"')); // 'bool() conversion error: invalid string value "…"'
 */
export function evaluationErrorText(e: unknown): string {
  return withoutQuotedValues(errorText(e))
    // [\s\S]*$ cannot fail, so no other split is tried: `.*$` failed on a \r in an input key and retried every
    // earlier `index out of range:` (quadratic), and left the key in.
    .replace(/^(No such key:|integer overflow:|Invalid regular expression:|Invalid duration string:|.*index out of range:)[\s\S]*$/, '$1 …');
}

let checkEnvironment: PolicyEnvironment | undefined;

/** Problems of one condition; its evaluator when there are none. */
function compileCondition(runtime: PolicyEnvironment, when: string): { problems: string[]; paths: string[][]; run?: (vars: object) => unknown } {
  let parsed;
  try {
    parsed = runtime.env.parse(when);
  } catch (e) {
    return { problems: [`condition does not compile: ${errorText(e)}`], paths: [] };
  }
  const paths = conditionPaths(parsed.ast, ROOTS);
  const problems = [...constructProblems(parsed.ast), ...pathProblems(paths, POLICY_VARIABLE_TYPES), ...headerNameProblems(parsed.ast, paths), ...rawHttpProblems(paths), ...foldedKeyProblems(paths, parsed.ast)];
  rewrite(parsed.ast);
  if (problems.length === 0) {
    checkEnvironment ??= policyEnvironment(POLICY_VARIABLE_TYPES);
    const typed = checkEnvironment.env.parse(when);
    rewrite(typed.ast);
    const result = typed.check();
    if (!result.valid) problems.push(`condition does not type-check: ${errorText(result.error)}`);
    else if (result.type !== 'bool' && result.type !== 'dyn') problems.push(`condition yields ${result.type}, not bool`);
  }
  return problems.length ? { problems, paths } : { problems, paths, run: parsed };
}

/**
 * @example
 * const policy = compilePolicy({ default: 'deny', defaultTtlSeconds: 3600, rules: [
 *   { id: 'reads', when: 'facts.sql.readOnly', effect: 'allow' },
 * ] });
 */
export function compilePolicy(spec: PolicySpec): CompiledPolicy {
  const runtime = policyEnvironment();
  const seen = new Set<string>();
  const problems: string[] = [];
  const conditions = new Map<CompiledRule, (vars: object) => unknown>();
  const rules = spec.rules.map((rule, index): CompiledRule => {
    const where = `policy.rules[${index}] (id ${rule.id})`;
    if (seen.has(rule.id)) problems.push(`${where}: duplicate rule id`);
    seen.add(rule.id);
    const compiled = compileCondition(runtime, rule.when);
    for (const p of compiled.problems) problems.push(`${where}: ${p}`);
    const out: CompiledRule = { spec: rule, index, paths: compiled.paths };
    if (compiled.run) conditions.set(out, compiled.run);
    return out;
  });
  if (problems.length) {
    throw new CountersignError('CONFIG_INVALID', problems.join('\n'), { problems, rule: spec.rules.find((_r, i) => problems.some((p) => p.startsWith(`policy.rules[${i}] `)))?.id });
  }

  // What some condition reads (paths.ts): only that is made into CEL values for a run (bounds.ts).
  const read = readTree(rules.flatMap((r) => r.paths));
  const session = (vars: PolicyVariables, limits: EvaluationLimits = DEFAULT_EVALUATION_LIMITS) => {
    let prepared: object;
    try {
      prepared = Object.fromEntries(celValue(vars, limits, read) as Map<string, unknown>);
    } catch (e) {
      const message = evaluationErrorText(e);
      return (): Outcome => ({ ok: false, message });
    }
    const meter = new Meter(limits);
    return (rule: CompiledRule): Outcome => {
      const run = conditions.get(rule);
      if (!run) return { ok: false, message: 'not a rule of this policy' };
      const previous = runtime.slot.meter;
      runtime.slot.meter = meter;
      try {
        const value = run(prepared);
        // An exceeded bound may have been absorbed by `||`/`&&`/exists(): the value is not to be trusted.
        if (meter.exceeded) return { ok: false, message: evaluationErrorText(meter.exceeded) };
        return { ok: true, value };
      } catch (e) {
        return { ok: false, message: evaluationErrorText(meter.exceeded ?? e) };
      } finally {
        runtime.slot.meter = previous;
      }
    };
  };
  return { spec, hash: `sha256:${sha256Hex(canonicalJson(spec))}`, rules, session };
}
