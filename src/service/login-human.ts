/**
 * Login: turns the verified claims of an ID token into the human who signed
 * in. The provider is the authority on who they are; the config may add
 * groups (by id, and by mapping the provider's groups). An email used as
 * the id must be one the provider verified, or anyone who could type an
 * address into their profile could become that person here.
 */
import { claimAt, isIdString } from '../core/claim-path.ts';
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import type { RefusalReason } from '../core/refusals.ts';

export interface LoginMapping {
  readonly issuer: string;
  readonly principal: { readonly id: string; readonly groups: string; readonly email: string };
  readonly groupMap: Readonly<Record<string, readonly string[]>>;
}

const text = (v: unknown): string | undefined => (isIdString(v) ? v : undefined);

/**
 * @example
 * const human = humanFromClaims(deps, login, tokens.claims()); // throws UNAUTHENTICATED when the claims do not name a human
 */
export function humanFromClaims(deps: Pick<Deps, 'identity'>, login: LoginMapping, claims: Readonly<Record<string, unknown>>): Principal {
  const id = text(claimAt(claims, login.principal.id));
  if (!id) throw new CountersignError('UNAUTHENTICATED', `the ID token has no ${login.principal.id} claim to name you by`, { reason: 'login.claim_missing' satisfies RefusalReason });
  const emailVerified = claims['email_verified'] === true;
  if (login.principal.id === 'email' && !emailVerified) {
    throw new CountersignError('UNAUTHENTICATED', 'the identity provider has not verified your email address', { reason: 'login.email_unverified' satisfies RefusalReason });
  }
  const known = deps.identity.principal(id);
  if (known && known.kind !== 'human') throw new CountersignError('UNAUTHENTICATED', `${id} is configured as an agent`, { reason: 'principal.kind_mismatch' });
  const raw = claimAt(claims, login.principal.groups);
  const idpGroups = Array.isArray(raw) ? raw.map(text).filter((g): g is string => g !== undefined) : [];
  const groups = new Set([...(known?.groups ?? []), ...idpGroups, ...idpGroups.flatMap((g) => login.groupMap[g] ?? [])]);
  const email = (emailVerified ? text(claimAt(claims, login.principal.email)) : undefined) ?? known?.email ?? null;
  return Object.freeze({ id, kind: 'human', actsFor: null, groups: Object.freeze([...groups].sort()), email, issuer: login.issuer, claims: Object.freeze({ ...claims }) });
}
