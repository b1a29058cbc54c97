/**
 * The shapes use cases put into audit payloads: enough to answer "who did
 * what, under which rule", never a credential or an agent's header value.
 */
import { redactInput, type ActionInput } from '../core/action.ts';
import { maskPaths } from '../core/mask.ts';
import type { Facts } from '../core/facts.ts';
import type { Deps } from './deps.ts';
import type { Decision } from '../core/policy/decision.ts';
import type { RequestRecord } from '../core/request.ts';
import { canonicalIdentity, type Principal } from '../core/principal.ts';

export function decisionView(d: Decision): Record<string, unknown> {
  return {
    effect: d.effect,
    rules: d.rules,
    message: d.message,
    policyHash: d.policyHash,
    approvers: d.approvers,
    ...(d.errors.length ? { errors: d.errors } : {}),
    ...(d.noUndo ? { noUndo: d.noUndo } : {}),
  };
}

function factsSection(r: RequestRecord): 'sql' | 'http' | 'exec' | 'mcp' {
  return r.facts.kind === 'postgres' ? 'sql' : r.facts.kind;
}

/** An HTTP input with the query string of its path moved into `query`, so `query.<name>` paths reach every value. */
function foldQuery(input: ActionInput): ActionInput {
  if (!('method' in input) || !input.path.includes('?')) return input;
  const q = input.path.indexOf('?');
  const query: Record<string, string | string[]> = { ...(input.query ?? {}) };
  for (const [k, v] of new URLSearchParams(input.path.slice(q + 1))) {
    const had = query[k];
    query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  return { ...input, path: input.path.slice(0, q), query };
}

/** The input as the audit log keeps it: header values, the connection's secret values and the configured paths as HMACs. */
export function auditInput(deps: Pick<Deps, 'sensitive' | 'connections'>, r: RequestRecord): ActionInput {
  const { mask, paths } = deps.sensitive;
  let input = redactInput(r.action.input, mask);
  const handle = deps.connections.get(r.action.connection);
  if (handle?.maskForAudit) input = handle.maskForAudit(input, mask);
  return paths.length ? maskPaths(foldQuery(input), paths, mask) : input;
}

/**
 * Facts as the audit log keeps them. SQL facts and header values are never in
 * facts; HTTP query and exec argv are, so when configured paths masked the
 * input, those facts are derived again from the masked input.
 */
function auditFacts(deps: Pick<Deps, 'connections' | 'sensitive'>, r: RequestRecord, input: ActionInput): Facts {
  if (r.facts.kind === 'postgres' || deps.sensitive.paths.length === 0) return r.facts;
  try {
    return deps.connections.get(r.action.connection)?.facts(input) ?? r.facts;
  } catch {
    return r.facts;
  }
}

/** `{ identity: { issuer, subject } }` for a principal from a token or a login, else nothing. */
export function withIdentity(p: Principal): { identity?: { issuer: string; subject: string } } {
  const identity = canonicalIdentity(p);
  return identity ? { identity } : {};
}

export function submittedAuditData(deps: Pick<Deps, 'sensitive' | 'connections'>, r: RequestRecord, context: Readonly<Record<string, string>>): Record<string, unknown> {
  const input = auditInput(deps, r);
  const facts = auditFacts(deps, r, input);
  return {
    principal: { id: r.principal.id, kind: r.principal.kind, actsFor: r.principal.actsFor, groups: r.principal.groups, ...withIdentity(r.principal) },
    connection: r.connection,
    operation: r.action.operation,
    input,
    reason: r.action.reason,
    // Only the section of the action's kind: the others are neutral by construction.
    facts: { kind: facts.kind, writes: facts.writes, [factsSection(r)]: facts[factsSection(r)] },
    digest: r.digest,
    decision: decisionView(r.decision),
    context,
    // Client-chosen, but bounded (255 visible ASCII characters) and no secret: scoped to this principal, it names a submission.
    ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
  };
}
