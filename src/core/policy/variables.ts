/**
 * Builds the variables a condition sees from the parts of one action, so every
 * caller (submit, execute's re-check, simulate, policy test) sees the same shape.
 */
import { policyInput, type Action } from '../action.ts';
import type { ConnectionInfo } from '../connection.ts';
import { FACTS_TYPE, type Facts } from '../facts.ts';
import { queryAsRead } from '../field-readings.ts';
import { foldKeys } from '../json-keys.ts';
import { type GithubSubject, type Principal } from '../principal.ts';
import type { PolicyVariables } from './compile.ts';
import { BOOL, DYN, listOf, mapOf, nullable, objectType, STRING, TIMESTAMP, type FieldsOf, type VarType } from './types.ts';

export interface PolicyContext {
  readonly time: Date;
  /** Metadata of the submission: surface, client address and user agent where known. */
  readonly request: Readonly<Record<string, string>>;
}

/** Frozen: like the configured groups, converted for policy once (bounds.ts). */
const NO_CLAIMS: Readonly<Record<string, unknown>> = Object.freeze({});

function principalVariable(principal: Principal) {
  // The fields of principalView (principal.ts), without its copy of the groups: policy only reads them.
  return { id: principal.id, kind: principal.kind, actsFor: principal.actsFor, groups: principal.groups, claims: principal.claims ?? NO_CLAIMS, github: principal.github ?? null };
}

/**
 * The facts as policy sees them: a tool's arguments and an HTTP call's query
 * names folded, as readers that match names in any case read them (Go's
 * encoding/json, ASP.NET's binding), like the body in action.input
 * (policyInput). Two names that fold alike are refused before policy.
 */
function policyFacts(facts: Facts): Facts {
  // foldKeys returns names already folded as they are (the usual case): then the facts are too, uncopied.
  if (facts.kind === 'mcp') {
    const args = foldKeys(facts.mcp.arguments) as Record<string, unknown>;
    return args === facts.mcp.arguments ? facts : { ...facts, mcp: { ...facts.mcp, arguments: args } };
  }
  // And each query parameter under every name a framework reads it as (PHP's `user.id` is `user_id`): core/field-readings.ts.
  if (facts.kind === 'http') {
    const query = foldKeys(queryAsRead(facts.http.query)) as Record<string, readonly string[]>;
    return query === facts.http.query ? facts : { ...facts, http: { ...facts.http, query } };
  }
  return facts;
}

export function policyVariables(
  principal: Principal,
  action: Action,
  connection: ConnectionInfo,
  facts: Facts,
  context: PolicyContext,
): PolicyVariables {
  return {
    principal: principalVariable(principal),
    action: { connection: action.connection, operation: action.operation, input: policyInput(action.input), reason: action.reason },
    connection: { name: connection.name, kind: connection.kind, tags: connection.tags },
    facts: policyFacts(facts),
    context: { time: context.time, request: context.request },
  };
}

/**
 * What each variable is, for the checks at load (see types.ts). Beside
 * policyVariables so that the shape built and the shape declared are read
 * together; what an agent or an issuer controls is `dyn`.
 */
export const POLICY_VARIABLE_TYPES: Readonly<Record<keyof PolicyVariables, VarType>> = {
  principal: objectType('Principal', {
    id: STRING,
    kind: STRING,
    actsFor: nullable(STRING),
    groups: listOf(STRING),
    // The issuer's claims, as the token carries them.
    claims: mapOf(DYN),
    github: nullable(
      objectType('GithubSubject', {
        repository: STRING,
        repositoryId: STRING,
        ownerId: STRING,
        workflowRef: nullable(STRING),
        environment: nullable(STRING),
        ref: nullable(STRING),
        pullRequest: BOOL,
        sub: STRING,
      } satisfies FieldsOf<GithubSubject>),
    ),
  } satisfies FieldsOf<ReturnType<typeof principalVariable>>),
  action: objectType('Action', { connection: STRING, operation: STRING, input: DYN, reason: STRING } satisfies FieldsOf<Action>),
  // A tag is a string or a list of strings.
  connection: objectType('Connection', { name: STRING, kind: STRING, tags: mapOf(DYN) } satisfies FieldsOf<ConnectionInfo>),
  facts: FACTS_TYPE,
  context: objectType('Context', { time: TIMESTAMP, request: mapOf(STRING) } satisfies FieldsOf<PolicyContext>),
};

/**
 * The paths of the variables that are the same for every call of one MCP
 * tool by `principal`: who calls, the connection, and the tool's facts — all
 * but its arguments. The reason and the context (time, client) vary by
 * call. A principal from a token is the same requester under its next token,
 * whose claims, groups and email may differ: only its id, kind, issuer and
 * whom it acts for are fixed.
 *
 * @example
 * deniesAll(policy, vars, toolFixedPaths(principal));
 */
export function toolFixedPaths(principal: Principal): readonly (readonly string[])[] {
  const who = principal.issuer === undefined ? [['principal']] : [['principal', 'id'], ['principal', 'kind'], ['principal', 'actsFor'], ['principal', 'issuer']];
  return [
    ...who,
    ['connection'],
    ['action', 'connection'],
    ['action', 'operation'],
    ['action', 'input', 'tool'],
    ['facts', 'kind'],
    ['facts', 'writes'],
    ['facts', 'sql'],
    ['facts', 'http'],
    ['facts', 'exec'],
    ['facts', 'mcp', 'tool'],
    ['facts', 'mcp', 'annotations'],
    ['facts', 'mcp', 'toolChanged'],
    ['facts', 'mcp', 'definitionHash'],
  ];
}
