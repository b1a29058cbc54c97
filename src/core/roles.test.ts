import { describe, expect, it } from 'vitest';
import type { Principal } from './principal.ts';
import { AUDIT_READERS, requireRole, rolesOf, type RoleGrants } from './roles.ts';

const human = (id: string, groups: string[] = []): Principal => ({ id, kind: 'human', actsFor: null, groups, email: null });
const grants: RoleGrants = { principals: new Map([['alice', ['auditor']], ['bot', ['admin']]]), groups: { admin: ['platform'], auditor: ['compliance'] } };

describe('rolesOf', () => {
  it('gives a configured human their roles, and roles by group', () => {
    expect(rolesOf(grants, human('alice'))).toEqual(['auditor']);
    expect(rolesOf(grants, human('bob', ['platform']))).toEqual(['admin']);
    expect(rolesOf(grants, human('alice', ['platform', 'compliance']))).toEqual(['auditor', 'admin']);
    expect(rolesOf(grants, human('carol', ['sre']))).toEqual([]);
  });

  it('never gives an agent a role, whatever its id, groups or the human it acts for', () => {
    const agent: Principal = { id: 'bot', kind: 'agent', actsFor: 'alice', groups: ['platform', 'compliance'], email: null };
    expect(rolesOf(grants, agent)).toEqual([]);
    expect(rolesOf(grants, { ...agent, id: 'alice', actsFor: null })).toEqual([]);
  });
});

describe('requireRole', () => {
  it('refuses with ROLE_REQUIRED and names the roles', () => {
    expect(() => requireRole([], AUDIT_READERS, 'the audit trail')).toThrow(expect.objectContaining({ code: 'ROLE_REQUIRED', details: { roles: ['auditor', 'admin'] } }));
    expect(() => requireRole(['admin'], AUDIT_READERS, 'the audit trail')).not.toThrow();
  });
});
