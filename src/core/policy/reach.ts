/**
 * Whether a policy denies every action that shares some fixed values, before
 * any such action exists: what an agent may be offered at all. A rule that
 * reads only fixed paths decides the same for all of them, so it is
 * evaluated; any other rule might match or not. The actions are all denied
 * when a fixed rule denies (or fails to evaluate, which denies too), or when
 * the default is deny and no allow or approve rule can match. Anything less certain is open:
 * a tool is hidden only when no call to it could be allowed or held.
 */
import type { CompiledPolicy, PolicyVariables } from './compile.ts';

/**
 * `fixed`: the path prefixes whose values are the same for every action in
 * question; the variables carry those values (the rest may be anything).
 *
 * @example
 * deniesAll(policy, vars, [['principal'], ['connection'], ['facts', 'mcp', 'tool']]); // true: a fixed rule denies
 */
export function deniesAll(policy: CompiledPolicy, vars: PolicyVariables, fixed: readonly (readonly string[])[]): boolean {
  const isFixed = (path: readonly string[]) => fixed.some((prefix) => prefix.length <= path.length && prefix.every((seg, i) => path[i] === seg));
  // Whether some allow or approve rule matches, or might: a deny rule, matching or not, lets nothing through.
  let mayOpen = false;
  const evaluate = policy.session(vars);
  for (const rule of policy.rules) {
    if (!rule.paths.every(isFixed)) {
      if (rule.spec.effect !== 'deny') mayOpen = true;
      continue;
    }
    const outcome = evaluate(rule);
    // A failing rule fails the same way for every such action, and a failing rule denies.
    if (!outcome.ok || typeof outcome.value !== 'boolean') return true;
    if (!outcome.value) continue;
    if (rule.spec.effect === 'deny') return true;
    mayOpen = true;
  }
  return !mayOpen && policy.spec.default === 'deny';
}
