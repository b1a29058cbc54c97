import { describe, expect, it } from 'vitest';
import { human, agent } from '../../test/support/fixtures.ts';
import { canonicalActsFor, canonicalHuman, emailKey, grantedGroups, humanKey, type HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';

const alice: Principal = { ...human('alice', ['sre']), email: 'Alice@Example.com' };
const bot: Principal = { ...agent('bot', null), email: 'bot@example.com' };
const configured = [alice, bot];
const dir: HumanDirectory = {
  principal: (id) => configured.find((p) => p.id === id),
  humanByEmail: (key) => configured.find((p) => p.kind === 'human' && p.email !== null && emailKey(p.email) === key),
};

describe('emailKey', () => {
  it('folds case and Unicode normal form', () => {
    expect(emailKey(' ALICE@example.COM ')).toBe('alice@example.com');
    expect(emailKey('jose\u0301@example.com')).toBe(emailKey('jos\u00e9@example.com'));
  });

  it('matches nobody for lookalike, compatibility or invisible characters, or a malformed address', () => {
    for (const e of ['\uff41lice@example.com', 'alice@\u212aexample.com', 'al\u200dice@example.com', '\u0130lice@example.com', 'alice', 'a lice@example.com', 'a@b@c']) {
      expect(emailKey(e), e).toBeUndefined();
    }
  });
});

describe('canonicalHuman', () => {
  it('is the configured human by id, then by verified email compared case-insensitively', () => {
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, dir)).toMatchObject({ ok: true, id: 'alice' });
    expect(canonicalHuman({ id: '00u1xyz', verifiedEmail: 'ALICE@example.com' }, dir)).toMatchObject({ ok: true, id: 'alice', configured: alice });
  });

  it('without a verified email never matches by email', () => {
    expect(canonicalHuman({ id: '00u1xyz', verifiedEmail: null }, dir)).toMatchObject({ ok: true, id: '00u1xyz', configured: undefined });
  });

  it('is the normalised verified email for a human the config does not name', () => {
    expect(canonicalHuman({ id: 'sub-1', verifiedEmail: 'Dana@Example.com' }, dir)).toEqual({ ok: true, id: 'dana@example.com', configured: undefined, email: 'dana@example.com' });
  });

  it('never resolves to an agent, by id or by an agent’s email', () => {
    expect(canonicalHuman({ id: 'bot', verifiedEmail: null }, dir)).toEqual({ ok: false, reason: 'principal.kind_mismatch' });
    expect(canonicalHuman({ id: 'sub-2', verifiedEmail: 'bot@example.com' }, dir)).toMatchObject({ ok: true, id: 'bot@example.com', configured: undefined });
  });
});

describe('canonicalActsFor and humanKey', () => {
  it('names the configured human by an email in any case', () => {
    expect(canonicalActsFor('ALICE@example.com', dir)).toBe('alice');
    expect(canonicalActsFor('alice', dir)).toBe('alice');
    expect(canonicalActsFor('Dana@Example.com', dir)).toBe('dana@example.com');
    expect(humanKey('Dana@Example.com')).toBe(humanKey('dana@example.com'));
  });
});

describe('grantedGroups', () => {
  it('grants only mapped groups unless the provider’s groups are trusted', () => {
    expect(grantedGroups(['admins', 'okta-dba'], { 'okta-dba': ['dba'] }, false)).toEqual(['dba']);
    expect(grantedGroups(['admins', 'okta-dba'], { 'okta-dba': ['dba'] }, true)).toEqual(['admins', 'okta-dba', 'dba']);
    expect(grantedGroups(['constructor', '__proto__'], {}, false)).toEqual([]);
  });
});
