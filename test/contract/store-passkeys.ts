/**
 * The passkey part of the store contract: a passkey comes back as stored and
 * belongs to one human; a credential id is stored once; removal is by its
 * owner only and audited once; the counter moves by compare-and-set; a
 * challenge is taken once however many takers race for it, and expired ones
 * are dropped. Every store runs it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports.ts';
import { issueChallenge, type Passkey } from '../../src/core/step-up.ts';
import { at, auditDraft, FIXTURE_TIME } from '../support/fixtures.ts';

let n = 0;

export function passkeyFixture(overrides: Partial<Passkey> = {}): Passkey {
  n += 1;
  return { id: `cred-${n}`, human: 'alice', publicKey: `pk-${n}`, counter: 0, transports: ['internal'], label: `key ${n}`, createdAt: at(n), ...overrides };
}

export function passkeyContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: passkeys and step-up challenges`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => cleanup());

    it('returns passkeys as stored, by id and by their human, oldest first, with the audit event committed', async () => {
      const a = passkeyFixture({ counter: 7 });
      const b = passkeyFixture();
      const other = passkeyFixture({ human: 'bob' });
      await store.insertPasskey(a, [auditDraft('passkey.registered', null, { credentialId: a.id })]);
      await store.insertPasskey(b, []);
      await store.insertPasskey(other, []);
      expect(await store.getPasskey(a.id)).toEqual(a);
      expect(await store.passkeysOf('alice')).toEqual([a, b]);
      expect(await store.passkeysOf('carol')).toEqual([]);
      expect(await store.getPasskey('never')).toBeUndefined();
      expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['passkey.registered']);
    });

    it('refuses a credential id stored already (even for another human), without its audit event', async () => {
      const a = passkeyFixture();
      await store.insertPasskey(a, []);
      await expect(store.insertPasskey({ ...a, human: 'mallory' }, [auditDraft('passkey.registered', null)])).rejects.toThrow();
      expect((await store.getPasskey(a.id))?.human).toBe('alice');
      expect(await store.readAudit(1, 10)).toEqual([]);
    });

    it('removes a passkey for its owner only, once, auditing only the removal that happened', async () => {
      const a = passkeyFixture();
      await store.insertPasskey(a, []);
      expect(await store.deletePasskey('bob', a.id, [auditDraft('passkey.removed', null)])).toBe(false);
      const ends = await Promise.all([1, 2, 3].map(() => store.deletePasskey('alice', a.id, [auditDraft('passkey.removed', null)])));
      expect(ends.filter(Boolean)).toHaveLength(1);
      expect(await store.getPasskey(a.id)).toBeUndefined();
      expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['passkey.removed']);
    });

    it('moves a counter only from the value the caller saw', async () => {
      const a = passkeyFixture({ counter: 5 });
      await store.insertPasskey(a, []);
      const moves = await Promise.all([6, 7, 8].map((next) => store.advancePasskeyCounter(a.id, 5, next)));
      expect(moves.filter(Boolean)).toHaveLength(1);
      expect([6, 7, 8]).toContain((await store.getPasskey(a.id))?.counter);
      expect(await store.advancePasskeyCounter(a.id, 5, 9)).toBe(false);
    });

    it('hands a challenge out once, however many take it at once', async () => {
      const c = issueChallenge('challenge-aaaaaaaaaaaaaaaa', { human: 'alice', purpose: 'approve', requestId: 'req_1', digest: 'sha256:x' }, FIXTURE_TIME);
      await store.insertChallenge(c, FIXTURE_TIME);
      const takes = await Promise.all([1, 2, 3, 4].map(() => store.takeChallenge(c.challenge)));
      expect(takes.filter((t) => t !== undefined)).toEqual([c]);
      expect(await store.takeChallenge(c.challenge)).toBeUndefined();
      expect(await store.takeChallenge('never-issued-aaaaaaaa')).toBeUndefined();
      // A removal's challenge keeps the credential it is bound to.
      const removal = issueChallenge('challenge-rm-aaaaaaaaaaaaa', { human: 'alice', purpose: 'remove-passkey', credentialId: 'cred_a' }, FIXTURE_TIME);
      await store.insertChallenge(removal, FIXTURE_TIME);
      expect(await store.takeChallenge(removal.challenge)).toEqual({ ...removal, credentialId: 'cred_a' });
    });

    it('stores a challenge once however many insert its key at once, and again once the first has expired', async () => {
      const mark = (at: Date) => ({ challenge: 'oidc-flow:once-aaaaaaaaaaaa', human: '', purpose: 'oidc-flow' as const, requestId: null, digest: null, expiresAt: new Date(at.getTime() + 600_000).toISOString() });
      const first = mark(FIXTURE_TIME);
      const inserts = await Promise.all([1, 2, 3, 4].map(() => store.insertChallengeOnce(first, FIXTURE_TIME)));
      expect(inserts.filter(Boolean)).toHaveLength(1);
      expect(await store.insertChallengeOnce(first, new Date(FIXTURE_TIME.getTime() + 599_000))).toBe(false);
      const later = new Date(FIXTURE_TIME.getTime() + 600_000);
      expect(await store.insertChallengeOnce(mark(later), later)).toBe(true);
      expect(await store.takeChallenge(first.challenge)).toEqual(mark(later));
    });

    it('drops challenges expired when another is stored', async () => {
      const old = issueChallenge('challenge-old-aaaaaaaaaaaa', { human: 'alice', purpose: 'register' }, FIXTURE_TIME);
      await store.insertChallenge(old, FIXTURE_TIME);
      const later = new Date(FIXTURE_TIME.getTime() + 3600_000);
      const fresh = issueChallenge('challenge-new-aaaaaaaaaaaa', { human: 'alice', purpose: 'register' }, later);
      await store.insertChallenge(fresh, later);
      expect(await store.takeChallenge(old.challenge)).toBeUndefined();
      expect(await store.takeChallenge(fresh.challenge)).toEqual(fresh);
    });
  });
}
