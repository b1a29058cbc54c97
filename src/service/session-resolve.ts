/**
 * Session resolve: who a console cookie's token speaks for, now. An unknown
 * or expired token speaks for no one (an expired session is ended on the
 * spot). A principal the identity knows is taken as configured now, so a
 * human removed from a group loses that group at the next click; one it does
 * not know (a human from an OIDC issuer's claims) is the one verified at
 * sign-in, unless the session came from a credential the configuration holds.
 * A single sign-on session keeps the human as the provider vouched at
 * sign-in (groups from its claims, issuer and subject) until it ends.
 */
import { canonicalHuman } from '../core/human-identity.ts';
import type { Principal } from '../core/principal.ts';
import { isSessionExpired, sessionKey, type Session } from '../core/session.ts';
import type { Deps } from './deps.ts';
import { endSessionByKey } from './session-end.ts';

/** Sign-in methods whose principals live in the configuration: gone from it, signed out. */
const CONFIGURED_METHODS = new Set(['api-key']);

/**
 * @example
 * const signedIn = await resolveSession(deps, tokenFromCookie); // undefined → show the sign-in page
 */
export async function resolveSession(
  deps: Pick<Deps, 'store' | 'clock' | 'identity'>,
  token: string,
): Promise<{ session: Session; principal: Principal } | undefined> {
  if (token.length === 0 || token.length > 200) return undefined;
  const key = sessionKey(token);
  const session = await deps.store.getSession(key);
  if (!session) return undefined;
  if (isSessionExpired(session, deps.clock.now())) {
    await endSessionByKey(deps, key, 'expired');
    return undefined;
  }
  const current = deps.identity.principal(session.principal.id);
  if ((current && current.kind !== 'human') || (!current && CONFIGURED_METHODS.has(session.method))) {
    await endSessionByKey(deps, key, 'principal-changed');
    return undefined;
  }
  // Signed in through an identity provider: as it vouched at sign-in (its groups, issuer and subject), until the session ends,
  // under the one id that human has now (a session begun before the configuration named them by email included).
  if (session.method === 'oidc') {
    const human = canonicalHuman({ id: session.principal.id, verifiedEmail: session.principal.email }, deps.identity);
    if (!human.ok) {
      await endSessionByKey(deps, key, 'principal-changed');
      return undefined;
    }
    if (human.id === session.principal.id) return { session, principal: session.principal };
    const groups = Object.freeze([...new Set([...(human.configured?.groups ?? []), ...session.principal.groups])].sort());
    return { session, principal: Object.freeze({ ...session.principal, id: human.id, groups, email: human.email }) };
  }
  return { session, principal: current ?? session.principal };
}
