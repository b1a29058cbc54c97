import { afterEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../adapters/identity/index.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { identitySchema } from '../config/identity-schema.ts';
import type { IdGenerator, Store } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { apiKeyRef } from '../core/session.ts';
import { generateApiKey } from '../adapters/identity/api-keys.ts';
import { resolveSession } from './session-resolve.ts';
import { startSession } from './session-start.ts';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
let store: Store;
afterEach(async () => store?.close());

const aliceKey = generateApiKey();
const bobKey = generateApiKey();

function deps(aliceGroups: string[] = ['sre'], aliceKeys: string[] = [aliceKey.hash]) {
  store = createSqliteStore({ path: ':memory:' });
  const identity = createIdentity({
    principals: [
      { id: 'alice', kind: 'human', actsFor: null, groups: aliceGroups, email: 'alice@example.com', apiKeys: aliceKeys },
      { id: 'bob', kind: 'human', actsFor: null, groups: ['sre'], email: null, apiKeys: [bobKey.hash] },
      { id: 'ops@example.com', kind: 'agent', actsFor: null, groups: [], email: null, apiKeys: [] },
    ],
    identity: identitySchema.parse({}),
    now: clock.now,
  });
  let n = 0;
  const ids: IdGenerator = { token: () => `token-${++n}-${'x'.repeat(40)}`, requestId: () => 'req_x' };
  return { store, identity, clock, ids, signInIssuer: 'https://idp.example.com' as string | undefined, signInGroups: { groupMap: { 'okta-ops': ['okta-ops'] }, trustGroups: false } };
}

const fromProvider = (id: string, email: string | null): Principal => ({ id, kind: 'human', actsFor: null, groups: [], email, issuer: 'https://idp.example.com', claims: { sub: 's-1' } });

describe('a single sign-on session', () => {
  it('speaks for the configured human its verified email names, even when it began under another id', async () => {
    const d = deps();
    const { token } = await startSession(d, { principal: fromProvider('Alice@Example.com', 'Alice@Example.com'), method: 'oidc', ttlSeconds: 3600 });
    expect((await resolveSession(d, token))?.principal).toMatchObject({ id: 'alice', groups: ['sre'], issuer: 'https://idp.example.com' });
  });

  it('has the groups the configuration gives its human now, beside those the provider’s groups map to now', async () => {
    const d = deps(['dev']);
    const signedIn: Principal = { ...fromProvider('alice', 'alice@example.com'), groups: ['okta-ops', 'sre'], tokenGroups: ['okta-ops'], providerGroups: ['okta-ops'] };
    const { token } = await startSession(d, { principal: signedIn, method: 'oidc', ttlSeconds: 3600 });
    expect((await resolveSession(d, token))?.principal).toMatchObject({ groups: ['dev', 'okta-ops'], tokenGroups: ['okta-ops'] });
    // A groupMap that maps the provider's group elsewhere now, or to nothing: as it maps now, never as it did at sign-in.
    expect((await resolveSession({ ...d, signInGroups: { groupMap: { 'okta-ops': ['dba'] }, trustGroups: false } }, token))?.principal.groups).toEqual(['dba', 'dev']);
    expect((await resolveSession({ ...d, signInGroups: { groupMap: {}, trustGroups: false } }, token))?.principal).toMatchObject({ groups: ['dev'], tokenGroups: [] });
    // Without the provider's groups kept, none of the groups from sign-in count.
    const { token: old } = await startSession(d, { principal: { ...signedIn, providerGroups: undefined } as Principal, method: 'oidc', ttlSeconds: 3600 });
    expect((await resolveSession(d, old))?.principal.groups).toEqual(['dev']);
  });

  it('ends when its human now resolves to an agent', async () => {
    const d = deps();
    const { token } = await startSession(d, { principal: fromProvider('s-9', 'ops@example.com'), method: 'oidc', ttlSeconds: 3600 });
    expect(await resolveSession(d, token)).toBeUndefined();
  });
});

describe('a session opened with an API key', () => {
  const alice: Principal = { id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'alice@example.com' };

  it('speaks for its human as configured now while the configuration holds its key for them', async () => {
    const d = deps(['dev']);
    const { token } = await startSession(d, { principal: alice, method: 'api-key', credential: apiKeyRef(aliceKey.key), ttlSeconds: 3600 });
    expect((await resolveSession(d, token))?.principal).toMatchObject({ id: 'alice', groups: ['dev'] });
  });

  it('ends, once, when the key is gone, belongs to someone else, or was never recorded', async () => {
    const d = deps(['sre'], []);
    const ended = async () => (await d.store.readAudit(0, 100)).filter((e) => e.type === 'session.ended').map((e) => e.data['reason']);
    const { token } = await startSession(d, { principal: alice, method: 'api-key', credential: apiKeyRef(aliceKey.key), ttlSeconds: 3600 });
    expect(await resolveSession(d, token)).toBeUndefined();
    expect(await resolveSession(d, token)).toBeUndefined();
    const { token: bobs } = await startSession(d, { principal: alice, method: 'api-key', credential: apiKeyRef(bobKey.key), ttlSeconds: 3600 });
    expect(await resolveSession(d, bobs)).toBeUndefined();
    const { token: unrecorded } = await startSession(d, { principal: alice, method: 'api-key', ttlSeconds: 3600 });
    expect(await resolveSession(d, unrecorded)).toBeUndefined();
    expect(await ended()).toEqual(['credential-removed', 'credential-removed', 'credential-removed']);
  });
});

describe('a single sign-on session whose provider the configuration no longer signs in through', () => {
  it('ends at its next use, whether identity.login is gone or names another provider', async () => {
    for (const signInIssuer of [undefined, 'https://new-idp.example.com']) {
      const d = { ...deps(), signInIssuer };
      const { token } = await startSession(d, { principal: fromProvider('alice', 'alice@example.com'), method: 'oidc', ttlSeconds: 3600 });
      expect(await resolveSession(d, token)).toBeUndefined();
      expect(await resolveSession({ ...d, signInIssuer: 'https://idp.example.com' }, token)).toBeUndefined();
      expect((await d.store.readAudit(0, 100)).filter((e) => e.type === 'session.ended').map((e) => e.data['reason'])).toEqual(['principal-changed']);
    }
  });
});

describe('a single sign-on session of a human bound to issuers', () => {
  const idp = 'https://idp.example.com';
  const other = 'https://other.example.com';
  function bound(aliceIssuers: string[] | undefined) {
    store = createSqliteStore({ path: ':memory:' });
    const identity = createIdentity({
      principals: [{ id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'alice@example.com', apiKeys: [], ...(aliceIssuers ? { issuers: aliceIssuers } : {}) }],
      identity: identitySchema.parse({ issuers: [idp, other].map((issuer) => ({ issuer, audience: 'countersign', principal: { kind: 'human' } })) }),
      now: clock.now,
    });
    let n = 0;
    return { store, identity, clock, ids: { token: () => `token-${++n}-${'x'.repeat(40)}`, requestId: () => 'req_x' }, signInIssuer: idp };
  }

  it('ends once the configuration binds its human to other issuers than the one it came from', async () => {
    const d = bound([other]);
    const { token } = await startSession(d, { principal: fromProvider('alice', 'alice@example.com'), method: 'oidc', ttlSeconds: 3600 });
    expect(await resolveSession(d, token)).toBeUndefined();
    expect((await d.store.readAudit(0, 100)).filter((e) => e.type === 'session.ended').map((e) => e.data['reason'])).toEqual(['principal-changed']);
    const { token: mine } = await startSession(d, { principal: { ...fromProvider('alice', 'alice@example.com'), issuer: other }, method: 'oidc', ttlSeconds: 3600 });
    expect((await resolveSession({ ...d, signInIssuer: other }, mine))?.principal).toMatchObject({ id: 'alice' });
  });

  it('goes on where its human, listing no issuer, was found by verified email among several issuers, as at sign-in', async () => {
    const d = bound(undefined);
    const { token } = await startSession(d, { principal: { ...fromProvider('alice', 'alice@example.com'), claimedId: '00u-alice' }, method: 'oidc', ttlSeconds: 3600 });
    expect((await resolveSession(d, token))?.principal).toMatchObject({ id: 'alice', groups: ['sre'] });
  });
});
