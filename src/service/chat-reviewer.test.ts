import { afterEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../adapters/identity/index.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { identitySchema } from '../config/identity-schema.ts';
import type { Principal } from '../core/principal.ts';
import type { Store } from '../core/ports.ts';
import { currentReviewer, reviewerRecord } from '../core/review.ts';
import { rememberSignedInHuman, reviewerByEmail } from './chat-reviewer.ts';

let t = Date.parse('2026-01-01T00:00:00Z');
const clock = { now: () => new Date(t) };
let store: Store;
afterEach(async () => store?.close());

function deps() {
  t = Date.parse('2026-01-01T00:00:00Z');
  store = createSqliteStore({ path: ':memory:' });
  const identity = createIdentity({
    principals: [
      { id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'Alice@Example.com', apiKeys: [] },
      { id: 'frank@example.com', kind: 'human', actsFor: null, groups: ['dba'], email: null, apiKeys: [] },
      { id: 'bot', kind: 'agent', actsFor: null, groups: [], email: null, apiKeys: [] },
    ],
    identity: identitySchema.parse({}),
    now: clock.now,
  });
  // The provider's groups map to the same names here, as the tests below give them.
  const signInGroups = { groupMap: { sre: ['sre'], dba: ['dba'] }, trustGroups: false };
  return { store, identity, clock, groupsMaxAgeSeconds: 12 * 3600, signInIssuer: 'https://idp.example.com' as string | undefined, signInGroups };
}

const signedIn = (id: string, email: string | null, groups: string[] = []): Principal => ({
  id,
  kind: 'human',
  actsFor: null,
  groups,
  tokenGroups: groups,
  providerGroups: groups,
  email,
  issuer: 'https://idp.example.com',
  claims: { sub: `sub-${id}`, email },
});

describe('a chat user resolved by email', () => {
  it('is the configured human with that email, whatever its case', async () => {
    const d = deps();
    expect((await reviewerByEmail(d, 'alice@example.COM'))?.id).toBe('alice');
  });

  it('is the human who signed in with it verified, as the same principal id and issuer', async () => {
    const d = deps();
    await rememberSignedInHuman(d, signedIn('dana@example.com', 'Dana@example.com', ['dba']));
    expect(await reviewerByEmail(d, 'dana@example.com')).toMatchObject({ id: 'dana@example.com', kind: 'human', groups: ['dba'], issuer: 'https://idp.example.com', claims: { sub: 'sub-dana@example.com' } });
  });

  it('keeps only the groups the provider granted: configured ones are looked up at review time, never remembered', async () => {
    const d = deps();
    await rememberSignedInHuman(d, { ...signedIn('erin@example.com', 'erin@example.com', ['dba', 'sre']), tokenGroups: ['dba'], providerGroups: ['dba'] });
    expect(await reviewerByEmail(d, 'erin@example.com')).toMatchObject({ id: 'erin@example.com', groups: ['dba'], tokenGroups: ['dba'] });
  });

  it('maps the provider’s groups with the groupMap in force, not the one of the sign-in', async () => {
    const d = deps();
    await rememberSignedInHuman(d, signedIn('erin@example.com', 'erin@example.com', ['dba']));
    expect(await reviewerByEmail({ ...d, signInGroups: { groupMap: { dba: ['sre'] }, trustGroups: false } }, 'erin@example.com')).toMatchObject({ groups: ['sre'], tokenGroups: ['sre'] });
    const unmapped = await reviewerByEmail({ ...d, signInGroups: { groupMap: {}, trustGroups: false } }, 'erin@example.com');
    expect(unmapped).toMatchObject({ groups: [], tokenGroups: [] });
    expect(unmapped?.staleSignInAt).toBeUndefined();
    // A record from before the provider's groups were kept vouches for none, and is told to sign in again.
    await d.store.rememberHuman({ id: 'erin@example.com', email: 'erin@example.com', groups: ['dba'], issuer: 'https://idp.example.com', subject: 'e', claimedId: 'erin@example.com', seenAt: '2026-01-01T00:00:00Z' });
    expect(await reviewerByEmail(d, 'erin@example.com')).toMatchObject({ groups: [], tokenGroups: [], staleSignInAt: '2026-01-01T00:00:00Z' });
  });

  it('is nobody once the provider they signed in through is no longer the configured one; a configured human stays', async () => {
    const d = deps();
    await rememberSignedInHuman(d, signedIn('dana@example.com', 'dana@example.com', ['dba']));
    await rememberSignedInHuman(d, signedIn('alice', 'alice@example.com', ['dba']));
    for (const signInIssuer of [undefined, 'https://new-idp.example.com']) {
      expect(await reviewerByEmail({ ...d, signInIssuer }, 'dana@example.com')).toBeUndefined();
      expect(await reviewerByEmail({ ...d, signInIssuer }, 'alice@example.com')).toMatchObject({ id: 'alice', groups: ['sre'] });
    }
  });

  it('is nobody for an unknown email, and never an agent', async () => {
    const d = deps();
    expect(await reviewerByEmail(d, 'mallory@example.com')).toBeUndefined();
    await rememberSignedInHuman(d, signedIn('bot', 'bot@example.com'));
    expect(await reviewerByEmail(d, 'bot@example.com')).toBeUndefined();
  });

  it('keeps the provider’s groups up to the maximum age after the sign-in, then only configured ones, marked stale', async () => {
    const d = deps();
    await rememberSignedInHuman(d, signedIn('dana@example.com', 'dana@example.com', ['sre']));
    t += 12 * 3600_000;
    const fresh = await reviewerByEmail(d, 'dana@example.com');
    expect(fresh).toMatchObject({ groups: ['sre'], tokenGroups: ['sre'] });
    expect(fresh?.staleSignInAt).toBeUndefined();
    t += 1;
    expect(await reviewerByEmail(d, 'dana@example.com')).toMatchObject({ id: 'dana@example.com', groups: [], tokenGroups: [], staleSignInAt: '2026-01-01T00:00:00.000Z' });
    // Signing in again vouches for the groups the provider gives now.
    await rememberSignedInHuman(d, signedIn('dana@example.com', 'dana@example.com', []));
    const again = await reviewerByEmail(d, 'dana@example.com');
    expect(again).toMatchObject({ groups: [], tokenGroups: [] });
    expect(again?.staleSignInAt).toBeUndefined();
  });

  it('keeps the configured groups of a human met at sign-in after the maximum age', async () => {
    const d = deps();
    await rememberSignedInHuman(d, signedIn('frank@example.com', 'frank@example.com', ['sre']));
    t += 13 * 3600_000;
    expect(await reviewerByEmail(d, 'frank@example.com')).toMatchObject({ id: 'frank@example.com', groups: ['dba'], tokenGroups: [], staleSignInAt: '2026-01-01T00:00:00.000Z' });
  });

  it('treats a remembered human without a readable sign-in time as stale', async () => {
    const d = deps();
    await d.store.rememberHuman({ id: 'gina@example.com', email: 'gina@example.com', groups: ['sre'], issuer: 'https://idp.example.com', subject: 'g', seenAt: 'not a time' });
    expect(await reviewerByEmail(d, 'gina@example.com')).toMatchObject({ groups: [], tokenGroups: [], staleSignInAt: 'not a time' });
  });

  it('carries the names the sign-in knew them by (username, subject), configured human or not', async () => {
    const d = deps();
    await rememberSignedInHuman(d, { ...signedIn('hana@example.com', 'hana@example.com'), claimedId: 'hana' });
    expect(await reviewerByEmail(d, 'hana@example.com')).toMatchObject({ id: 'hana@example.com', claimedId: 'hana', issuer: 'https://idp.example.com', claims: { sub: 'sub-hana@example.com' } });
    await rememberSignedInHuman(d, { ...signedIn('alice', 'alice@example.com'), claimedId: 'ajones' });
    expect(await reviewerByEmail(d, 'alice@example.com')).toMatchObject({ id: 'alice', groups: ['sre'], claimedId: 'ajones', issuer: 'https://idp.example.com', claims: { sub: 'sub-alice' } });
  });

  it('adds nothing to a configured human from a record of another id, or one that did not keep the id it was named by', async () => {
    const d = deps();
    await d.store.rememberHuman({ id: 'alice', email: 'alice@example.com', groups: [], issuer: 'https://idp.example.com', subject: 'a', seenAt: '2026-01-01T00:00:00Z' });
    const old = await reviewerByEmail(d, 'alice@example.com');
    expect(old).toMatchObject({ id: 'alice', groups: ['sre'] });
    expect(old?.issuer).toBeUndefined();
    await d.store.rememberHuman({ id: 'alice2', email: 'alice@example.com', groups: [], issuer: 'https://idp.example.com', subject: 'a', claimedId: 'ajones', seenAt: '2026-01-01T00:00:00Z' });
    const other = await reviewerByEmail(d, 'alice@example.com');
    expect(other?.claimedId).toBeUndefined();
    expect(other?.issuer).toBeUndefined();
  });

  it('keeps a configured human an approver from chat when the issuer of their last sign-in may no longer name them, their configured self alone', async () => {
    const d = deps();
    const identity = createIdentity({
      principals: [{ id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'alice@example.com', apiKeys: [], issuers: ['https://new-idp.example.com'] }],
      identity: identitySchema.parse({}),
      now: clock.now,
    });
    await d.store.rememberHuman({ id: 'alice', email: 'alice@example.com', groups: [], issuer: 'https://idp.example.com', subject: 'a', claimedId: 'ajones', seenAt: '2026-01-01T00:00:00Z' });
    const alice = await reviewerByEmail({ ...d, identity }, 'alice@example.com');
    expect(alice).toMatchObject({ id: 'alice', groups: ['sre'] });
    expect(alice?.issuer).toBeUndefined();
    // Counted as the configuration sees her now: the Slack or Teams account vouches for her email, not that issuer's token.
    expect(currentReviewer(reviewerRecord(alice!), identity)).toMatchObject({ id: 'alice', groups: ['sre'] });
  });
});
