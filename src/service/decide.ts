/** One place where an action meets the policy, for submit, execute's re-check and simulate alike. */
import type { Action } from '../core/action.ts';
import type { ConnectionInfo } from '../core/connection.ts';
import type { Facts } from '../core/facts.ts';
import type { CompiledPolicy } from '../core/policy/compile.ts';
import type { Decision } from '../core/policy/decision.ts';
import { evaluatePolicy } from '../core/policy/evaluate.ts';
import { policyVariables, type PolicyContext } from '../core/policy/variables.ts';
import type { Principal } from '../core/principal.ts';
import type { Tracer } from '../core/tracing.ts';

export function decide(
  policy: CompiledPolicy,
  principal: Principal,
  action: Action,
  connection: ConnectionInfo,
  facts: Facts,
  context: PolicyContext,
): Decision {
  return evaluatePolicy(policy, policyVariables(principal, action, connection, facts, context));
}

/** `decide` in a `policy` span that records the effect and the rules that matched. */
export function decideTraced(tracer: Tracer, ...args: Parameters<typeof decide>): Decision {
  return tracer.span('policy', {}, () => {
    const decision = decide(...args);
    tracer.annotate({ 'countersign.effect': decision.effect, 'countersign.rules': decision.rules.join(',') });
    return decision;
  });
}
