import { afterEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../adapters/identity/index.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { identitySchema } from '../config/identity-schema.ts';
import type { IdGenerator, Store } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { resolveSession } from './session-resolve.ts';
import { startSession } from './session-start.ts';

const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
let store: Store;
afterEach(async () => store?.close());

function deps() {
  store = createSqliteStore({ path: ':memory:' });
  const identity = createIdentity({
    principals: [
      { id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: 'alice@example.com', apiKeys: [] },
      { id: 'ops@example.com', kind: 'agent', actsFor: null, groups: [], email: null, apiKeys: [] },
    ],
    identity: identitySchema.parse({}),
    now: clock.now,
  });
  let n = 0;
  const ids: IdGenerator = { token: () => `token-${++n}-${'x'.repeat(40)}`, requestId: () => 'req_x' };
  return { store, identity, clock, ids };
}

const fromProvider = (id: string, email: string | null): Principal => ({ id, kind: 'human', actsFor: null, groups: [], email, issuer: 'https://idp.example.com', claims: { sub: 's-1' } });

describe('a single sign-on session', () => {
  it('speaks for the configured human its verified email names, even when it began under another id', async () => {
    const d = deps();
    const { token } = await startSession(d, { principal: fromProvider('Alice@Example.com', 'Alice@Example.com'), method: 'oidc', ttlSeconds: 3600 });
    expect((await resolveSession(d, token))?.principal).toMatchObject({ id: 'alice', groups: ['sre'], issuer: 'https://idp.example.com' });
  });

  it('ends when its human now resolves to an agent', async () => {
    const d = deps();
    const { token } = await startSession(d, { principal: fromProvider('s-9', 'ops@example.com'), method: 'oidc', ttlSeconds: 3600 });
    expect(await resolveSession(d, token)).toBeUndefined();
  });
});
