/**
 * Who acts: an agent (a workload) or a human. An agent may act for a human,
 * and that human is then treated as a requester for separation of duties.
 */

export type PrincipalKind = 'agent' | 'human';

export interface Principal {
  readonly id: string;
  readonly kind: PrincipalKind;
  /** The human this agent acts for, or null. */
  readonly actsFor: string | null;
  readonly groups: readonly string[];
  readonly email: string | null;
}

/** The fields of a principal that policy sees and the digest binds. */
export function principalView(p: Principal): { id: string; kind: PrincipalKind; actsFor: string | null; groups: string[] } {
  return { id: p.id, kind: p.kind, actsFor: p.actsFor, groups: [...p.groups] };
}
