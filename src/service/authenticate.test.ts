/**
 * Refused credentials are evidence, but a flood of them must not flood the
 * log: at most `perSecond` auth.failed events a second, the rest counted on
 * the next one; an accepted credential writes nothing.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createApiKeyIdentity, generateApiKey } from '../adapters/identity/api-keys.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { manualClock } from '../../test/support/clock.ts';
import { createAuthenticator } from './authenticate.ts';
import { noopMetrics } from '../adapters/metrics/noop.ts';

describe('createAuthenticator', () => {
  it('records refusals up to the rate, then one event carrying how many were left out', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const clock = manualClock();
    const key = generateApiKey();
    const identity = createApiKeyIdentity([{ id: 'bot', kind: 'agent', actsFor: null, groups: [], email: null, apiKeys: [key.hash] }]);
    const authenticate = createAuthenticator({ store, clock, identity, log: pino({ level: 'silent' }), metrics: noopMetrics }, { perSecond: 3 });
    try {
      await expect(authenticate(key.key, { surface: 'rest' })).resolves.toMatchObject({ id: 'bot' });
      for (let i = 0; i < 5; i++) await expect(authenticate('cs_nope', { surface: 'rest', remote: '10.0.0.1' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      expect((await store.readAudit(1, 100)).map((e) => e.data)).toEqual([
        { reason: 'key.unknown', surface: 'rest', remote: '10.0.0.1' },
        { reason: 'key.unknown', surface: 'rest', remote: '10.0.0.1' },
        { reason: 'key.unknown', surface: 'rest', remote: '10.0.0.1' },
      ]);
      clock.advance(1000);
      await expect(authenticate('', { surface: 'mcp' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      const events = await store.readAudit(1, 100);
      expect(events).toHaveLength(4);
      expect(events[3]).toMatchObject({ type: 'auth.failed', actor: null, data: { reason: 'key.malformed', surface: 'mcp', suppressedBefore: 2 } });
    } finally {
      await store.close();
    }
  });
});
