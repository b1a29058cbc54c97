/**
 * The shapes use cases put into audit payloads: enough to answer "who did
 * what, under which rule", never a credential or an agent's header value.
 */
import { redactInput } from '../core/action.ts';
import type { Decision } from '../core/policy/decision.ts';
import type { RequestRecord } from '../core/request.ts';

export function decisionView(d: Decision): Record<string, unknown> {
  return {
    effect: d.effect,
    rules: d.rules,
    message: d.message,
    policyHash: d.policyHash,
    approvers: d.approvers,
    ...(d.errors.length ? { errors: d.errors } : {}),
  };
}

function factsSection(r: RequestRecord): 'sql' | 'http' | 'exec' {
  return r.facts.kind === 'postgres' ? 'sql' : r.facts.kind;
}

export function submittedAuditData(r: RequestRecord, context: Readonly<Record<string, string>>): Record<string, unknown> {
  return {
    principal: { id: r.principal.id, kind: r.principal.kind, actsFor: r.principal.actsFor, groups: r.principal.groups },
    connection: r.connection,
    operation: r.action.operation,
    input: redactInput(r.action.input),
    reason: r.action.reason,
    // Only the section of the action's kind: the others are neutral by construction.
    facts: { kind: r.facts.kind, writes: r.facts.writes, [factsSection(r)]: r.facts[factsSection(r)] },
    digest: r.digest,
    decision: decisionView(r.decision),
    context,
  };
}
