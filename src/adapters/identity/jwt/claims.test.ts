import { describe, expect, it } from 'vitest';
import { groupsClaim } from './claims.ts';

describe('groupsClaim', () => {
  it('splits only scp and scope at spaces; any other string is one group', () => {
    expect(groupsClaim({ scp: 'notes.read notes.write' }, 'scp')).toEqual(['notes.read', 'notes.write']);
    expect(groupsClaim({ ext: { scope: 'a b' } }, 'ext.scope')).toEqual(['a', 'b']);
    expect(groupsClaim({ group: 'Helpdesk Admins' }, 'group')).toEqual(['Helpdesk Admins']);
    expect(groupsClaim({ groups: ['Helpdesk Admins', 'sre'] }, 'groups')).toEqual(['Helpdesk Admins', 'sre']);
    expect(groupsClaim({ groups: 42 }, 'groups')).toEqual([]);
  });
});
