import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../adapters/identity/index.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { identitySchema } from '../config/identity-schema.ts';
import { isCountersignError } from '../core/errors.ts';
import type { Store } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { CLI_SESSION_METHOD, issueLoginCode, redeemLoginCode } from './cli-login.ts';
import { resolveSession } from './session-resolve.ts';

let now = new Date('2026-01-01T00:00:00Z');
const clock = { now: () => now };
let store: Store;
afterEach(async () => store?.close());

function deps() {
  store = createSqliteStore({ path: ':memory:' });
  const identity = createIdentity({ principals: [], identity: identitySchema.parse({}), now: clock.now });
  let n = 0;
  return { store, identity, clock, ids: { token: () => `token-${++n}-${'x'.repeat(40)}`, requestId: () => 'req_x' }, signInIssuer: 'https://idp.example.com', cliSignIn: true, signInGroups: { groupMap: { 'okta-sre': ['sre'] }, trustGroups: false } };
}

const dora: Principal = { id: 'dora@example.com', kind: 'human', actsFor: null, groups: ['sre'], tokenGroups: ['sre'], providerGroups: ['okta-sre'], email: 'dora@example.com', issuer: 'https://idp.example.com', claims: { sub: 'dora' } };
const verifier = 'v'.repeat(43);
const request = { redirectUri: 'http://127.0.0.1:53121/callback', state: 's'.repeat(16), codeChallenge: createHash('sha256').update(verifier).digest('base64url') };

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return isCountersignError(e, 'LOGIN_CODE_INVALID') ? e.details['reason'] : e;
  }
  return 'redeemed';
}

describe('a CLI sign-in code', () => {
  it('redeems once for a credential that speaks for the human as the provider vouched', async () => {
    now = new Date('2026-01-01T00:00:00Z');
    const d = deps();
    const code = await issueLoginCode(d, dora, request);
    const { token, session } = await redeemLoginCode(d, { code, verifier, redirectUri: request.redirectUri }, 3600);
    expect(token.startsWith('csl_')).toBe(true);
    expect(session.method).toBe(CLI_SESSION_METHOD);
    expect((await resolveSession(d, token))?.principal).toMatchObject({ id: 'dora@example.com', groups: ['sre'] });
    expect(await refusal(redeemLoginCode(d, { code, verifier, redirectUri: request.redirectUri }, 3600))).toBe('login.code_invalid');
  });

  it('is worth nothing after its minute', async () => {
    now = new Date('2026-01-01T00:00:00Z');
    const d = deps();
    const code = await issueLoginCode(d, dora, request);
    now = new Date('2026-01-01T00:01:00Z');
    expect(await refusal(redeemLoginCode(d, { code, verifier, redirectUri: request.redirectUri }, 3600))).toBe('login.code_invalid');
  });

  it('gives a credential that ends once the configuration no longer offers countersign login (identity.login.cli removed)', async () => {
    now = new Date('2026-01-01T00:00:00Z');
    const d = deps();
    const code = await issueLoginCode(d, dora, request);
    const { token, session } = await redeemLoginCode(d, { code, verifier, redirectUri: request.redirectUri }, 3600);
    expect(await resolveSession({ ...d, cliSignIn: false }, token)).toBeUndefined();
    expect(await store.getSession(session.key)).toBeUndefined();
    // Ended, not only refused: turning the CLI's sign-in on again brings it back no more than a removed key does.
    expect(await resolveSession(d, token)).toBeUndefined();
  });

  it('is never issued to an agent', async () => {
    const d = deps();
    await expect(issueLoginCode(d, { ...dora, kind: 'agent' }, request)).rejects.toMatchObject({ code: 'AGENT_CANNOT_SIGN_IN' });
  });
});
