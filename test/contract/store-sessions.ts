/**
 * The console-session part of the store contract: a session comes back as it
 * was stored, ends once (its audit events written only by the call that ended
 * it), and expiry is found by time. Every store runs it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports.ts';
import { sessionKey, type Session } from '../../src/core/session.ts';
import { at, auditDraft, FIXTURE_TIME, human } from '../support/fixtures.ts';

let n = 0;

/** A session of carol, valid for an hour from FIXTURE_TIME unless told otherwise. */
export function sessionFixture(overrides: Partial<Session> = {}): Session {
  n += 1;
  return {
    key: sessionKey(`token-${n}`),
    principal: human('carol', ['sre']),
    method: 'api-key',
    csrfToken: `csrf-${n}`,
    createdAt: at(0),
    expiresAt: at(3600),
    ...overrides,
  };
}

export function sessionContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: console sessions`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => cleanup());

    it('returns a stored session exactly as given, with its audit event committed', async () => {
      const s = sessionFixture();
      await store.insertSession(s, [auditDraft('session.started', null, { method: 'api-key' })]);
      expect(await store.getSession(s.key)).toEqual(s);
      expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['session.started']);
      expect(await store.getSession(sessionKey('never issued'))).toBeUndefined();
    });

    it('refuses a second session with the same key and keeps the first, without its audit event', async () => {
      const s = sessionFixture();
      await store.insertSession(s, []);
      await expect(store.insertSession({ ...s, csrfToken: 'other' }, [auditDraft('session.started', null)])).rejects.toThrow();
      expect((await store.getSession(s.key))?.csrfToken).toBe(s.csrfToken);
      expect(await store.readAudit(1, 10)).toEqual([]);
    });

    it('ends a session once: the second delete changes nothing and writes no event', async () => {
      const s = sessionFixture();
      await store.insertSession(s, []);
      const ends = await Promise.all([1, 2, 3].map(() => store.deleteSession(s.key, [auditDraft('session.ended', null)])));
      expect(ends.filter(Boolean)).toHaveLength(1);
      expect(await store.getSession(s.key)).toBeUndefined();
      expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['session.ended']);
    });

    it('names the sessions whose expiry is at or before now, soonest first, up to the limit', async () => {
      const past = sessionFixture({ expiresAt: at(-10) });
      const now = sessionFixture({ expiresAt: at(0) });
      const later = sessionFixture({ expiresAt: at(10) });
      for (const s of [later, now, past]) await store.insertSession(s, []);
      expect(await store.expiredSessions(FIXTURE_TIME, 10)).toEqual([past.key, now.key]);
      expect(await store.expiredSessions(FIXTURE_TIME, 1)).toEqual([past.key]);
      expect(await store.expiredSessions(new Date(FIXTURE_TIME.getTime() - 60_000), 10)).toEqual([]);
    });
  });
}
