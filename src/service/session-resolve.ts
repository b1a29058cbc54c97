/**
 * Session resolve: who a console cookie's token speaks for, now. An unknown
 * or expired token speaks for no one (an expired session is ended on the
 * spot). A session opened with an API key lasts while the configuration in
 * force holds that key for that human (a key removed or replaced ends it),
 * and speaks for the human as configured now, so a human removed from a
 * group loses that group at the next click. A single sign-on session keeps
 * what the provider vouched for at sign-in (its groups, mapped by the
 * groupMap in force at each click; issuer and subject) until it ends, under the one id that human has now and
 * with the groups the configuration gives them now, and only while that
 * provider is still the one the configuration signs humans in through. The
 * CLI's sign-ins (`oidc-cli`, service/cli-login.ts) are resolved the same way,
 * and only while the configuration offers that sign-in (identity.login.cli).
 */
import { canonicalHuman } from '../core/human-identity.ts';
import { signInGroups } from '../core/group-mapping.ts';
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
  deps: Pick<Deps, 'store' | 'clock' | 'identity' | 'signInIssuer' | 'signInGroups' | 'cliSignIn'>,
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
  // The key it was opened with must still be this human's: a key removed or replaced signs its sessions out, as it
  // would a request on the API. A session without a recorded key (opened before they were recorded) ends (fail closed).
  if (session.method === 'api-key' && (session.credential === undefined || !deps.identity.holdsKey(session.principal.id, session.credential))) {
    await endSessionByKey(deps, key, 'credential-removed');
    return undefined;
  }
  // Signed in through an identity provider: as it vouched at sign-in (the groups it granted, issuer and subject), until
  // the session ends, under the one id that human has now (a session begun before the configuration named them by
  // email included), with the groups the configuration gives that human now (never the ones it gave at sign-in).
  if (session.method === 'oidc' || session.method === 'oidc-cli') {
    // The CLI's sign-in turned off (identity.login.cli removed, or the console off): the credentials it gave end with it.
    if (session.method === 'oidc-cli' && deps.cliSignIn !== true) {
      await endSessionByKey(deps, key, 'credential-removed');
      return undefined;
    }
    // A provider removed from the configuration (or replaced) vouches for no one any more, as a removed key does not.
    if (session.principal.issuer !== deps.signInIssuer) {
      await endSessionByKey(deps, key, 'principal-changed');
      return undefined;
    }
    // As the provider named them, checked against the issuers the configuration in force binds that human to.
    const human = canonicalHuman({ id: session.principal.claimedId ?? session.principal.id, verifiedEmail: session.principal.email }, deps.identity, session.principal.issuer);
    if (!human.ok) {
      await endSessionByKey(deps, key, 'principal-changed');
      return undefined;
    }
    // The provider's groups as the groupMap in force maps them, not as the one at sign-in did: a mapping taken away
    // grants nothing from the next click. A session from before the provider's groups were kept keeps none (fail closed).
    const granted = signInGroups(session.principal.providerGroups, deps.signInGroups);
    const groups = Object.freeze([...new Set([...(human.configured?.groups ?? []), ...granted])].sort());
    return { session, principal: Object.freeze({ ...session.principal, id: human.id, groups, tokenGroups: granted, email: human.email }) };
  }
  // An API-key session (the one other method): the human as configured now.
  return current ? { session, principal: current } : undefined;
}
