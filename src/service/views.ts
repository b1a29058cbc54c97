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

/** Audit payloads below are written with their keys in canonical (RFC 8785) order, so hashing them reorders nothing. */
export function decisionView(d: Decision): Record<string, unknown> {
  return {
    approvers: d.approvers,
    effect: d.effect,
    ...(d.errors.length ? { errors: d.errors } : {}),
    message: d.message,
    ...(d.noUndo ? { noUndo: d.noUndo } : {}),
    policyHash: d.policyHash,
    rules: d.rules,
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
    return deps.connections.get(r.action.connection)?.facts(input) ?? everyValueMasked(r.facts, deps.sensitive.mask);
  } catch {
    // The masked input reads as no request (a masked path, a JSON body masked whole): the facts of the real one would
    // keep in clear what the configuration says the log keeps only as an HMAC.
    return everyValueMasked(r.facts, deps.sensitive.mask);
  }
}

/** Facts with every value that came from the input as an HMAC: the path, query values, arguments. */
function everyValueMasked(f: Facts, mask: (value: string) => string): Facts {
  const query = Object.fromEntries(Object.entries(f.http.query).map(([k, values]) => [k, values.map(mask)]));
  // argv[0] is the connection's command, not the agent's.
  const argv = f.exec.argv.map((a, i) => (i === 0 ? a : mask(a)));
  const args = Object.keys(f.mcp.arguments).length > 0 ? { '*': mask(JSON.stringify(f.mcp.arguments)) } : f.mcp.arguments;
  return {
    ...f,
    http: { ...f.http, path: mask(f.http.path), query },
    exec: { ...f.exec, argv, subcommand: f.exec.subcommand === '' ? '' : mask(f.exec.subcommand) },
    mcp: { ...f.mcp, arguments: args },
  };
}

/** `{ identity: { issuer, subject } }` for a principal from a token or a login, else nothing. */
export function withIdentity(p: Principal): { identity?: { issuer: string; subject: string } } {
  const identity = canonicalIdentity(p);
  return identity ? { identity } : {};
}

export function submittedAuditData(deps: Pick<Deps, 'sensitive' | 'connections'>, r: RequestRecord, context: Readonly<Record<string, string>>): Record<string, unknown> {
  const input = auditInput(deps, r);
  const facts = auditFacts(deps, r, input);
  const p = r.principal;
  return {
    connection: r.connection,
    context,
    decision: decisionView(r.decision),
    digest: r.digest,
    facts: factsView(facts, factsSection(r)),
    // Client-chosen, but bounded (255 visible ASCII characters, and an issuer's suffix: core/idempotency.ts) and no
    // secret: scoped to this principal, it names a submission.
    ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
    input,
    operation: r.action.operation,
    principal: { actsFor: p.actsFor, groups: p.groups, id: p.id, ...withIdentity(p), kind: p.kind },
    reason: r.action.reason,
  };
}

/** Only the section of the action's kind, in canonical key order: the others are neutral by construction. */
function factsView(facts: Facts, section: 'sql' | 'http' | 'exec' | 'mcp'): Record<string, unknown> {
  const { kind, writes } = facts;
  if (section === 'exec') return { exec: facts.exec, kind, writes };
  if (section === 'http') return { http: facts.http, kind, writes };
  if (section === 'mcp') return { kind, mcp: facts.mcp, writes };
  return { kind, sql: facts.sql, writes };
}
