/**
 * `countersign login`'s one-time code (core/cli-login.ts): issued once the
 * gateway has signed a human in at the identity provider for a CLI's loopback
 * request; redeemed once, with the PKCE verifier, for the CLI's credential — a
 * sign-in of the gateway (method `oidc-cli`) that speaks for the human as a
 * console sign-in through the provider does, presented as a bearer `csl_…`.
 * A code is taken from the store before anything is checked: a wrong verifier
 * spends it, and two redemptions race for one row that only one gets.
 */
import { LOGIN_CODE_TTL_SECONDS, CLI_TOKEN_PREFIX, loginCodeKey, verifierMatches, type CliLoginRequest } from '../core/cli-login.ts';
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { Session } from '../core/session.ts';
import type { Deps } from './deps.ts';
import { startSession } from './session-start.ts';

/** The method of the CLI's sign-ins: a bearer resolves only to these, a console cookie never does. */
export const CLI_SESSION_METHOD = 'oidc-cli';

/**
 * Issues the code the browser takes back to the CLI's loopback address.
 *
 * @example
 * const code = await issueLoginCode(deps, human, { redirectUri: 'http://127.0.0.1:53121/callback', state, codeChallenge });
 */
export async function issueLoginCode(deps: Pick<Deps, 'store' | 'clock' | 'ids'>, principal: Principal, request: CliLoginRequest): Promise<string> {
  if (principal.kind !== 'human') throw new CountersignError('AGENT_CANNOT_SIGN_IN', `${principal.id} is an agent; only humans sign in`);
  const code = deps.ids.token();
  const now = deps.clock.now();
  await deps.store.insertChallenge(
    {
      challenge: loginCodeKey(code),
      human: principal.id,
      purpose: 'cli-login',
      requestId: null,
      digest: null,
      expiresAt: new Date(now.getTime() + LOGIN_CODE_TTL_SECONDS * 1000).toISOString(),
      login: { principal, redirectUri: request.redirectUri, codeChallenge: request.codeChallenge },
    },
    now,
  );
  return code;
}

export interface Redemption {
  readonly code: unknown;
  readonly verifier: unknown;
  readonly redirectUri: unknown;
  /** Where it came from, for the audit log's `session.started`. */
  readonly context?: Readonly<Record<string, string>>;
}

function refused(reason: 'login.code_invalid' | 'login.verifier_invalid', message: string): CountersignError {
  return new CountersignError('LOGIN_CODE_INVALID', message, { reason });
}

/**
 * Redeems a code for the CLI's credential; throws LOGIN_CODE_INVALID (`reason` login.code_invalid or
 * login.verifier_invalid) otherwise.
 *
 * @example
 * const { token } = await redeemLoginCode(deps, { code, verifier, redirectUri }, 8 * 3600); // token: 'csl_…'
 */
export async function redeemLoginCode(deps: Pick<Deps, 'store' | 'clock' | 'ids'>, r: Redemption, ttlSeconds: number): Promise<{ token: string; session: Session }> {
  const taken = typeof r.code === 'string' && r.code.length > 0 && r.code.length <= 200 ? await deps.store.takeChallenge(loginCodeKey(r.code)) : undefined;
  const login = taken?.purpose === 'cli-login' ? taken.login : undefined;
  if (!taken || !login || Date.parse(taken.expiresAt) <= deps.clock.now().getTime()) {
    throw refused('login.code_invalid', 'this sign-in code is unknown, already used or expired: run `countersign login` again');
  }
  if (r.redirectUri !== login.redirectUri) throw refused('login.code_invalid', 'this sign-in code was sent to another loopback address');
  if (!verifierMatches(r.verifier, login.codeChallenge)) throw refused('login.verifier_invalid', 'the PKCE verifier is missing or is not the one of the sign-in that asked for this code (the code is spent)');
  return startSession(deps, { principal: login.principal, method: CLI_SESSION_METHOD, ttlSeconds, context: { surface: 'cli', ...(r.context ?? {}) }, tokenPrefix: CLI_TOKEN_PREFIX });
}
