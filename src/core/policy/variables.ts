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
