/**
 * Who may accept a changed MCP tool definition. Accepting makes the new
 * definition the pin, after which calls are judged by the policy alone, so it
 * is a privileged act: only the humans the connection names may do it, and a
 * connection that names nobody refuses everyone (fail closed) rather than
 * letting any human, the one an agent acts for included, lift the hold.
 */
import { CountersignError } from '../errors.ts';
import type { Principal } from '../principal.ts';

export interface ToolAcceptors {
  readonly groups: readonly string[];
  readonly principals: readonly string[];
}

/**
 * The acceptors a connection's pinning settings give: `acceptors` when set,
 * else every group and principal its `approvers` name (a requirement that
 * names nobody — "any human" — adds no one).
 *
 * @example
 * toolAcceptors({ approvers: [{ groups: ['sec'] }] }); // { groups: ['sec'], principals: [] }
 */
export function toolAcceptors(pinning: {
  acceptors?: { groups: readonly string[]; principals: readonly string[] } | undefined;
  approvers?: readonly { groups?: readonly string[] | undefined; principals?: readonly string[] | undefined }[] | undefined;
}): ToolAcceptors {
  if (pinning.acceptors) return { groups: [...pinning.acceptors.groups], principals: [...pinning.acceptors.principals] };
  const approvers = pinning.approvers ?? [];
  return {
    groups: [...new Set(approvers.flatMap((a) => a.groups ?? []))],
    principals: [...new Set(approvers.flatMap((a) => a.principals ?? []))],
  };
}

/**
 * Throws the stable error that keeps `by` from accepting a changed definition on `connection`; returns when they may.
 *
 * @example
 * assertMayAccept({ groups: ['sec'], principals: [] }, alice, 'tickets'); // throws NOT_A_TOOL_ACCEPTOR unless alice is in sec
 */
export function assertMayAccept(acceptors: ToolAcceptors, by: Principal, connection: string): void {
  if (by.kind !== 'human') throw new CountersignError('FORBIDDEN', 'only a human accepts a changed tool definition');
  if (acceptors.groups.length === 0 && acceptors.principals.length === 0) {
    throw new CountersignError(
      'TOOL_ACCEPTORS_NOT_CONFIGURED',
      `connection ${connection} names no one who may accept a changed tool definition; set pinning.acceptors (groups or principals) in its configuration`,
    );
  }
  if (!acceptors.principals.includes(by.id) && !acceptors.groups.some((g) => by.groups.includes(g))) {
    const needed = [...acceptors.groups.map((g) => `group ${g}`), ...acceptors.principals];
    throw new CountersignError('NOT_A_TOOL_ACCEPTOR', `${by.id} may not accept changed tool definitions on ${connection}; needed: ${needed.join(', ')}`);
  }
}
