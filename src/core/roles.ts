/**
 * Roles of people: what a human may open beyond the requests that concern
 * them. `auditor` reads the audit trail, its exports, proofs and evidence
 * reports, and the governance views (coverage, shadow decisions); `admin`
 * may do all of that too. Roles belong to humans only: an agent never has
 * one, not even one acting for a human who does. Any other human sees the
 * requests they made, may review, or reviewed, and nothing else.
 */
import { CountersignError } from './errors.ts';
import type { Principal } from './principal.ts';

export const ROLES = ['auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Where roles come from: humans named in the config, and Countersign groups (configured or granted by an issuer's groupMap). */
export interface RoleGrants {
  /** Principal id → its configured roles (humans only; the config check refuses roles on an agent). */
  readonly principals: ReadonlyMap<string, readonly Role[]>;
  /** Role → the groups whose members hold it. */
  readonly groups: Readonly<Partial<Record<Role, readonly string[]>>>;
}

/**
 * The roles a principal holds: none for an agent, whatever it carries.
 *
 * @example
 * rolesOf({ principals: new Map([['alice', ['auditor']]]), groups: { admin: ['platform'] } }, alice); // ['auditor']
 */
export function rolesOf(grants: RoleGrants, p: Principal): Role[] {
  if (p.kind !== 'human') return [];
  const out = new Set<Role>(grants.principals.get(p.id) ?? []);
  for (const role of ROLES) {
    const groups = grants.groups[role];
    if (groups?.some((g) => p.groups.includes(g))) out.add(role);
  }
  return ROLES.filter((r) => out.has(r));
}

/** Roles that may read the audit trail, exports, proofs, evidence and the governance views. */
export const AUDIT_READERS: readonly Role[] = ['auditor', 'admin'];

/** Whether the roles include any of `allowed`. */
export function hasAnyRole(roles: readonly Role[], allowed: readonly Role[]): boolean {
  return roles.some((r) => allowed.includes(r));
}

/**
 * Refuses (ROLE_REQUIRED) unless `roles` include one of `allowed`; `what` names what was asked for.
 *
 * @example
 * requireRole(identity.roles(principal), AUDIT_READERS, 'the audit trail');
 */
export function requireRole(roles: readonly Role[], allowed: readonly Role[], what: string): void {
  if (!hasAnyRole(roles, allowed)) {
    throw new CountersignError('ROLE_REQUIRED', `${what} needs the role ${allowed.join(' or ')}`, { roles: [...allowed] });
  }
}
