/**
 * The shadow policy: a candidate evaluated beside the live policy on the same
 * inputs, never enforced. Where it would decide otherwise, submit records a
 * `policy.shadow` event in the same transaction as the request's own events.
 * A candidate that fails never touches the live decision: its failure is
 * what the event records.
 */
import type { Action } from '../core/action.ts';
import type { AuditDraft } from '../core/audit.ts';
import type { ConnectionInfo } from '../core/connection.ts';
import type { Facts } from '../core/facts.ts';
import type { PolicyContext } from '../core/policy/variables.ts';
import type { Principal } from '../core/principal.ts';
import type { Decision } from '../core/policy/decision.ts';
import { decisionSide, decisionsDiffer, type DecisionSide } from '../core/policy/decision-diff.ts';
import { decide } from './decide.ts';
import type { Deps } from './deps.ts';

export const SHADOW_EVENT = 'policy.shadow';

/** What the live policy saw: the candidate sees the same. */
export interface ShadowInputs {
  readonly principal: Principal;
  readonly action: Action;
  readonly connection: ConnectionInfo;
  readonly facts: Facts;
  readonly context: PolicyContext;
}

/**
 * The `policy.shadow` event for one submitted action, or none when there is no candidate or it agrees.
 *
 * @example
 * const shadow = shadowEvent(deps, { principal, action, connection, facts, context }, decision, { requestId, at }); // undefined, or a draft to record with the request
 */
export function shadowEvent(
  deps: Pick<Deps, 'candidate'>,
  inputs: ShadowInputs,
  live: Decision,
  at: { requestId: string; time: string },
): AuditDraft | undefined {
  const policy = deps.candidate;
  if (policy === undefined) return undefined;
  const { principal, action, connection, facts, context } = inputs;
  let candidate: DecisionSide;
  try {
    candidate = decisionSide(decide(policy, principal, action, connection, facts, context));
  } catch (e) {
    // evaluatePolicy turns a failing rule into a deny with errors; this is what it did not foresee.
    candidate = { effect: 'error', rules: [], approvers: [], policyHash: policy.hash, errors: [{ rule: '(candidate)', message: e instanceof Error ? e.message.slice(0, 500) : 'evaluation failed' }] };
  }
  const liveSide = decisionSide(live);
  if (!decisionsDiffer(liveSide, candidate)) return undefined;
  return {
    type: SHADOW_EVENT,
    time: at.time,
    requestId: at.requestId,
    actor: null,
    data: {
      requestId: at.requestId,
      principal: principal.id,
      connection: action.connection,
      operation: action.operation,
      live: { effect: liveSide.effect, rules: liveSide.rules, approvers: liveSide.approvers, policyHash: liveSide.policyHash },
      candidate: { effect: candidate.effect, rules: candidate.rules, approvers: candidate.approvers, policyHash: candidate.policyHash, errors: candidate.errors ?? [] },
    },
  };
}
