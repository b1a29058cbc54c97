import { describe, expect, it } from 'vitest';
import { createApiKeyIdentity, generateApiKey } from '../adapters/identity/api-keys.ts';
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import { manualClock } from '../../test/support/clock.ts';
import type { Authenticate } from './authenticate.ts';
import { sessionCredential } from './session-credential.ts';

const bot = generateApiKey();
const other = generateApiKey();

/** The API-key identity behind an authenticator that counts what it is asked; `holds`: the keys it accepts now. */
function keys(holds: { bot: boolean }) {
  const seen: string[] = [];
  const authenticate = Object.assign(
    async (bearer: string | undefined) => {
      seen.push(bearer ?? '');
      const principals = [
        { id: 'bot', kind: 'agent' as const, actsFor: null, groups: [], email: null, apiKeys: holds.bot ? [bot.hash] : [] },
        { id: 'other', kind: 'agent' as const, actsFor: null, groups: [], email: null, apiKeys: [other.hash] },
      ];
      const auth = await createApiKeyIdentity(principals).authenticate(bearer ?? '');
      if (!auth.ok) throw new CountersignError('UNAUTHENTICATED', 'the API key matches no principal');
      return auth.principal;
    },
    { refused: async () => {} },
  ) as Authenticate;
  return { authenticate, seen };
}

const botPrincipal: Principal = { id: 'bot', kind: 'agent', actsFor: null, groups: [], email: null };

describe('sessionCredential', () => {
  it('keeps a verdict for at most everyMs, then asks the identity again and refuses a key it no longer holds', async () => {
    const clock = manualClock();
    const holds = { bot: true };
    const { authenticate, seen } = keys(holds);
    const check = sessionCredential(authenticate, clock, bot.key, { surface: 'postgres' }, botPrincipal, { everyMs: 1000 });
    await check();
    clock.advance(999);
    await check();
    expect(seen).toHaveLength(0);
    clock.advance(1);
    await check();
    expect(seen).toHaveLength(1);
    holds.bot = false;
    clock.advance(1000);
    await expect(check()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it("never keeps a token's verdict past its exp", async () => {
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const { authenticate, seen } = keys({ bot: true });
    const exp = Date.UTC(2026, 0, 1) / 1000 + 5;
    const check = sessionCredential(authenticate, clock, bot.key, { surface: 'postgres' }, { ...botPrincipal, claims: { exp } }, { everyMs: 60_000 });
    clock.advance(4999);
    await check();
    expect(seen).toHaveLength(0);
    clock.advance(1);
    await check();
    expect(seen).toHaveLength(1);
  });

  it("a countersign login credential (csl_…) is kept everyMs: the exp its sign-in's ID token had is not the credential's", async () => {
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const seen: string[] = [];
    // The ID token of the sign-in expired long ago; the sign-in (a session of the gateway) lasts on its own terms.
    const dora: Principal = { id: 'dora@example.com', kind: 'human', actsFor: null, groups: [], email: 'dora@example.com', claims: { exp: Date.UTC(2025, 11, 31) / 1000 } };
    const authenticate = Object.assign(async (bearer: string | undefined) => (seen.push(bearer ?? ''), dora), { refused: async () => {} }) as Authenticate;
    const check = sessionCredential(authenticate, clock, `csl_${'x'.repeat(43)}`, { surface: 'postgres' }, dora, { everyMs: 1000 });
    await check();
    await check();
    clock.advance(999);
    await check();
    expect(seen).toHaveLength(0);
    clock.advance(1);
    await check();
    await check();
    expect(seen).toHaveLength(1);
  });

  it('refuses a credential that names another principal now', async () => {
    const clock = manualClock();
    const { authenticate } = keys({ bot: true });
    const check = sessionCredential(authenticate, clock, other.key, { surface: 'postgres' }, botPrincipal, { everyMs: 0 });
    await expect(check()).rejects.toThrow(/another principal than bot/);
  });
});
