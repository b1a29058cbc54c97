import { describe, expect, it } from 'vitest';
import type { Principal } from '../principal.ts';
import { assertMayAccept, toolAcceptors } from './acceptors.ts';

const human = (id: string, groups: string[] = []): Principal => ({ id, kind: 'human', groups, actsFor: null, email: null });

describe('who may accept a changed tool definition', () => {
  it('is pinning.acceptors when set, else the groups and principals pinning.approvers names', () => {
    expect(toolAcceptors({ acceptors: { groups: ['sec'], principals: [] }, approvers: [{ groups: ['sre'] }] })).toEqual({ groups: ['sec'], principals: [] });
    expect(toolAcceptors({ approvers: [{ groups: ['sre'] }, { principals: ['alice'] }, {}] })).toEqual({ groups: ['sre'], principals: ['alice'] });
    expect(toolAcceptors({})).toEqual({ groups: [], principals: [] });
  });

  it('refuses everyone when nobody is named, a human outside them, and any agent', () => {
    expect(() => assertMayAccept({ groups: [], principals: [] }, human('alice', ['sre']), 'fs')).toThrow(expect.objectContaining({ code: 'TOOL_ACCEPTORS_NOT_CONFIGURED' }));
    expect(() => assertMayAccept({ groups: ['sec'], principals: ['bob'] }, human('alice', ['sre']), 'fs')).toThrow(expect.objectContaining({ code: 'NOT_A_TOOL_ACCEPTOR' }));
    expect(() => assertMayAccept({ groups: ['sec'], principals: [] }, { ...human('bot', ['sec']), kind: 'agent' }, 'fs')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => assertMayAccept({ groups: ['sec'], principals: ['bob'] }, human('carol', ['sec']), 'fs')).not.toThrow();
    expect(() => assertMayAccept({ groups: ['sec'], principals: ['bob'] }, human('bob'), 'fs')).not.toThrow();
  });
});
