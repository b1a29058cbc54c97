/**
 * Compiles every rule's CEL condition once, at load. A rule that does not
 * compile stops the start with its id: a policy is never half-loaded.
 */
import { Environment } from '@marcbachmann/cel-js';
import { canonicalJson, sha256Hex } from '../digest.ts';
import { CountersignError } from '../errors.ts';
import { conditionPaths } from './paths.ts';
import type { PolicySpec, RuleSpec } from './spec.ts';

/** The variables a condition may use. */
export const POLICY_VARIABLES = ['principal', 'action', 'facts', 'connection', 'context'] as const;

export type PolicyVariables = Record<(typeof POLICY_VARIABLES)[number], unknown>;

export interface CompiledRule {
  readonly spec: RuleSpec;
  readonly index: number;
  readonly condition: (vars: PolicyVariables) => unknown;
  /** Every path from a variable the condition reads (see paths.ts). */
  readonly paths: readonly (readonly string[])[];
}

const ROOTS: ReadonlySet<string> = new Set(POLICY_VARIABLES);

export interface CompiledPolicy {
  readonly spec: PolicySpec;
  readonly hash: string;
  readonly rules: readonly CompiledRule[];
}

function environment(): Environment {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  for (const name of POLICY_VARIABLES) env.registerVariable(name, 'map');
  return env;
}

/**
 * @example
 * const policy = compilePolicy({ default: 'deny', defaultTtlSeconds: 3600, rules: [
 *   { id: 'reads', when: 'facts.sql.readOnly', effect: 'allow' },
 * ] });
 */
export function compilePolicy(spec: PolicySpec): CompiledPolicy {
  const env = environment();
  const seen = new Set<string>();
  const rules = spec.rules.map((rule, index): CompiledRule => {
    if (seen.has(rule.id)) {
      throw new CountersignError('CONFIG_INVALID', `policy.rules[${index}] (id ${rule.id}): duplicate rule id`);
    }
    seen.add(rule.id);
    try {
      const parsed = env.parse(rule.when);
      return { spec: rule, index, condition: (vars) => parsed(vars), paths: conditionPaths(parsed.ast, ROOTS) };
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new CountersignError(
        'CONFIG_INVALID',
        `policy.rules[${index}] (id ${rule.id}): condition does not compile: ${why}`,
        { rule: rule.id },
      );
    }
  });
  return { spec, hash: `sha256:${sha256Hex(canonicalJson(spec))}`, rules };
}
