import { describe, expect, it } from 'vitest';
import { createIdentity } from '../adapters/identity/index.ts';
import { identitySchema } from '../config/identity-schema.ts';
import { humanFromClaims } from './login-human.ts';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
const identity = createIdentity({
  principals: [{ id: 'alice', kind: 'human', actsFor: null, groups: ['audit'], email: null, apiKeys: [] }],
  identity: identitySchema.parse({}),
  now: () => new Date('2026-01-01T00:00:00Z'),
});

// The provider the tests below sign in through, the only place humans come from: no human configured.
const solo = createIdentity({
  principals: [],
  identity: identitySchema.parse({ login: { issuer: 'https://idp.example.com', clientId: 'countersign-console' } }),
  now: () => new Date('2026-01-01T00:00:00Z'),
});

describe('the human an ID token names', () => {
  it('reads the id, groups and email at dotted claim paths (Keycloak’s realm_access.roles)', () => {
    const login = {
      issuer: 'https://kc.example.com/realms/acme',
      principal: { id: 'user.name', groups: 'realm_access.roles', email: 'contact.email' },
      groupMap: { 'platform-oncall': ['sre'] },
      trustGroups: true,
    };
    const human = humanFromClaims({ identity, clock }, login, {
      sub: 'f3a1',
      email_verified: true,
      user: { name: 'alice' },
      realm_access: { roles: ['platform-oncall', 'offline_access'] },
      email: 'Alice@acme.test',
      contact: { email: 'alice@acme.test' },
    });
    expect(human).toMatchObject({ id: 'alice', kind: 'human', email: 'alice@acme.test', groups: ['audit', 'offline_access', 'platform-oncall', 'sre'] });
  });

  it('takes an email at another claim only when it is the verified `email`, which is all email_verified speaks for', () => {
    const login = { issuer: 'https://idp.example.com', principal: { id: 'sub', groups: 'groups', email: 'contact.email' }, groupMap: {} };
    const mallory = { sub: '00u9', email: 'mallory@evil.example', email_verified: true, contact: { email: 'dana@example.com' } };
    expect(humanFromClaims({ identity: solo, clock }, login, mallory)).toMatchObject({ id: '00u9', email: null });
    expect(humanFromClaims({ identity: solo, clock }, login, { ...mallory, email: 'Dana@example.com' })).toMatchObject({ id: 'dana@example.com', email: 'dana@example.com' });
  });

  it('still reads a plain claim name, and refuses a path that leads nowhere', () => {
    const login = { issuer: 'https://idp.example.com', principal: { id: 'sub', groups: 'groups', email: 'email' }, groupMap: {}, trustGroups: true };
    expect(humanFromClaims({ identity: solo, clock }, login, { sub: 'bob', groups: ['dev'] })).toMatchObject({ id: 'bob', groups: ['dev'] });
    expect(() => humanFromClaims({ identity: solo, clock }, { ...login, principal: { ...login.principal, id: 'user.name' } }, { sub: 'bob', 'user.name': 'x' })).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    );
  });

  it('grants a provider group nothing unless it is mapped (or the provider’s groups are trusted)', () => {
    const login = { issuer: 'https://idp.example.com', principal: { id: 'sub', groups: 'groups', email: 'email' }, groupMap: { 'okta-dba': ['dba'] } };
    expect(humanFromClaims({ identity: solo, clock }, login, { sub: 'bob', groups: ['admins', 'okta-dba'] })).toMatchObject({ id: 'bob', groups: ['dba'] });
  });

  it('is the configured human with the verified email, whatever its case; an unverified email names no one', () => {
    const withEmail = createIdentity({
      principals: [{ id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'alice@example.com', apiKeys: [] }],
      identity: identitySchema.parse({}),
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    const login = { issuer: 'https://idp.example.com', principal: { id: 'sub', groups: 'groups', email: 'email' }, groupMap: {} };
    expect(humanFromClaims({ identity: withEmail, clock }, login, { sub: '00u1', email: 'ALICE@Example.com', email_verified: true })).toMatchObject({ id: 'alice', groups: ['sre'] });
    // Beside a configured human, a sign-in without a verified email could be her under another name: refused.
    expect(() => humanFromClaims({ identity: withEmail, clock }, login, { sub: '00u1', email: 'alice@example.com' })).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED', details: { reason: 'principal.unlinked' } }),
    );
    expect(humanFromClaims({ identity: solo, clock }, login, { sub: '00u1', email: 'alice@example.com' })).toMatchObject({ id: '00u1', groups: [] });
    // An email id is matched as the email it is, whichever claim `email` names.
    const byEmailId = { ...login, principal: { id: 'email', groups: 'groups', email: 'contact' } };
    expect(humanFromClaims({ identity: withEmail, clock }, byEmailId, { sub: '00u2', email: 'ALICE@example.com', email_verified: true, contact: 'other@example.com' })).toMatchObject({ id: 'alice' });
  });

  it('refuses an ID token issued in the future beyond the clock skew', () => {
    const login = { issuer: 'https://idp.example.com', principal: { id: 'sub', groups: 'groups', email: 'email' }, groupMap: {}, clockSkewSeconds: 60 };
    const now = clock.now().getTime() / 1000;
    expect(humanFromClaims({ identity: solo, clock }, login, { sub: 'bob', iat: now + 30 })).toMatchObject({ id: 'bob' });
    expect(() => humanFromClaims({ identity: solo, clock }, login, { sub: 'bob', iat: now + 365 * 86_400 })).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED', details: { reason: 'login.issued_in_future' } }),
    );
  });
});
