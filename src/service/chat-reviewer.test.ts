import { afterEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../adapters/identity/index.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { identitySchema } from '../config/identity-schema.ts';
import type { Principal } from '../core/principal.ts';
import type { Store } from '../core/ports.ts';
import { rememberSignedInHuman, reviewerByEmail } from './chat-reviewer.ts';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
let store: Store;
afterEach(async () => store?.close());

function deps() {
  store = createSqliteStore({ path: ':memory:' });
  const identity = createIdentity({
    principals: [
      { id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'Alice@Example.com', apiKeys: [] },
      { id: 'bot', kind: 'agent', actsFor: null, groups: [], email: null, apiKeys: [] },
    ],
    identity: identitySchema.parse({}),
    now: clock.now,
  });
  return { store, identity, clock };
}

const signedIn = (id: string, email: string | null, groups: string[] = []): Principal => ({
  id,
  kind: 'human',
  actsFor: null,
  groups,
  tokenGroups: groups,
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
    await rememberSignedInHuman(d, { ...signedIn('erin@example.com', 'erin@example.com', ['dba', 'sre']), tokenGroups: ['dba'] });
    expect(await reviewerByEmail(d, 'erin@example.com')).toMatchObject({ id: 'erin@example.com', groups: ['dba'], tokenGroups: ['dba'] });
  });

  it('is nobody for an unknown email, and never an agent', async () => {
    const d = deps();
    expect(await reviewerByEmail(d, 'mallory@example.com')).toBeUndefined();
    await rememberSignedInHuman(d, signedIn('bot', 'bot@example.com'));
    expect(await reviewerByEmail(d, 'bot@example.com')).toBeUndefined();
  });
});
