/**
 * Builds the variables a condition sees from the parts of one action, so every
 * caller (submit, execute's re-check, simulate, policy test) sees the same shape.
 */
import type { Action } from '../action.ts';
import type { ConnectionInfo } from '../connection.ts';
import type { Facts } from '../facts.ts';
import { principalView, type Principal } from '../principal.ts';
import type { PolicyVariables } from './compile.ts';

export interface PolicyContext {
  readonly time: Date;
  /** Metadata of the submission: surface, client address and user agent where known. */
  readonly request: Readonly<Record<string, string>>;
}

export function policyVariables(
  principal: Principal,
  action: Action,
  connection: ConnectionInfo,
  facts: Facts,
  context: PolicyContext,
): PolicyVariables {
  return {
    principal: { ...principalView(principal), claims: principal.claims ?? {}, github: principal.github ?? null },
    action: { connection: action.connection, operation: action.operation, input: action.input, reason: action.reason },
    connection: { name: connection.name, kind: connection.kind, tags: connection.tags },
    facts,
    context: { time: context.time, request: context.request },
  };
}

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
