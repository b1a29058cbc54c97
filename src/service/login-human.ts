/**
 * Login: turns the verified claims of an ID token into the human who signed
 * in, resolved to their one canonical identity (core/human-identity.ts): the
 * configured human with that id or that verified email, else the verified
 * email. The config gives groups (by id, and by mapping the provider's
 * groups; raw provider groups only with `trustGroups`). An email used as
 * the id must be one the provider verified, or anyone who could type an
 * address into their profile could become that person here.
 */
import { claimAt, isIdString } from '../core/claim-path.ts';
import { CountersignError } from '../core/errors.ts';
import { canonicalHuman, verifiedEmailOf } from '../core/human-identity.ts';
import { grantedGroups } from '../core/group-mapping.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import type { RefusalReason } from '../core/refusals.ts';

export interface LoginMapping {
  readonly issuer: string;
  readonly principal: { readonly id: string; readonly groups: string; readonly email: string };
  readonly groupMap: Readonly<Record<string, readonly string[]>>;
  /** The provider's group names count as they are; otherwise only mapped ones grant anything. */
  readonly trustGroups?: boolean;
  /** Tolerance for `iat` against the gateway's clock (identity.clockSkewSeconds). */
  readonly clockSkewSeconds?: number;
}

const text = (v: unknown): string | undefined => (isIdString(v) ? v : undefined);

/**
 * @example
 * const human = humanFromClaims(deps, login, tokens.claims()); // throws UNAUTHENTICATED when the claims do not name a human
 */
export function humanFromClaims(deps: Pick<Deps, 'identity' | 'clock'>, login: LoginMapping, claims: Readonly<Record<string, unknown>>): Principal {
  // The provider's client library checks exp and that iat is a number, not that it is not in the future.
  const iat = claims['iat'];
  if (typeof iat === 'number' && iat > deps.clock.now().getTime() / 1000 + (login.clockSkewSeconds ?? 60)) {
    throw new CountersignError('UNAUTHENTICATED', 'the ID token was issued in the future; check the clocks', { reason: 'login.issued_in_future' });
  }
  const id = text(claimAt(claims, login.principal.id));
  if (!id) throw new CountersignError('UNAUTHENTICATED', `the ID token has no ${login.principal.id} claim to name you by`, { reason: 'login.claim_missing' satisfies RefusalReason });
  const emailVerified = claims['email_verified'] === true;
  if (login.principal.id === 'email' && !emailVerified) {
    throw new CountersignError('UNAUTHENTICATED', 'the identity provider has not verified your email address', { reason: 'login.email_unverified' satisfies RefusalReason });
  }
  // An email id is the verified email itself, whatever claim `email` names.
  const verifiedEmail = !emailVerified ? null : login.principal.id === 'email' ? id : verifiedEmailOf(claims, login.principal.email);
  const human = canonicalHuman({ id, verifiedEmail }, deps.identity, login.issuer);
  if (!human.ok) {
    const why =
      human.reason === 'principal.kind_mismatch'
        ? `${id} is configured as an agent`
        : human.reason === 'principal.issuer_not_allowed'
          ? `${id} is configured to sign in through another identity provider`
          : human.reason === 'principal.id_confusable'
            ? 'the identity provider names you by an id that reads as someone else’s; ask for one that does not'
            : human.reason === 'principal.unlinked'
              ? 'the identity provider has not verified your email address, and without it you cannot be told apart from your other accounts here'
          : 'your verified email address cannot be compared safely; ask for a plain address';
    throw new CountersignError('UNAUTHENTICATED', why, { reason: human.reason });
  }
  const raw = claimAt(claims, login.principal.groups);
  const idpGroups = Array.isArray(raw) ? raw.map(text).filter((g): g is string => g !== undefined) : [];
  const granted = grantedGroups(idpGroups, login.groupMap, login.trustGroups === true);
  const groups = new Set([...(human.configured?.groups ?? []), ...granted]);
  return Object.freeze({ id: human.id, kind: 'human', actsFor: null, groups: Object.freeze([...groups].sort()), email: human.email, tokenGroups: Object.freeze([...new Set(granted)].sort()), providerGroups: Object.freeze([...new Set(idpGroups)].sort()), ...(human.id !== id ? { claimedId: id } : {}), issuer: login.issuer, claims: Object.freeze({ ...claims }) });
}
