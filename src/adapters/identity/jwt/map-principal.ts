/**
 * A verified token's claims → the principal it speaks for. A human is
 * resolved to their one canonical identity (core/human-identity.ts): the
 * configured principal with that id, or the configured human with that
 * verified email, else their verified email; so a person's API key, their
 * token and their console session are one reviewer. An email counts only
 * when the issuer says `email_verified: true`, and only its `email` (core/human-identity.ts verifiedEmailOf).
 *
 * A human issuer's token issued to a client application, not a person
 * (client-token.ts), is refused.
 *
 * Groups: the provider's group names grant nothing by themselves (anyone who
 * can create a group at the provider could otherwise name it `admins`).
 * They become Countersign groups through the issuer's `groupMap`, or as they
 * are when the issuer is configured with `trustGroups: true`.
 */
import { canonicalActsFor, canonicalHuman, lookalikeId, verifiedEmailOf, type HumanDirectory } from '../../../core/human-identity.ts';
import { grantedGroups } from '../../../core/group-mapping.ts';
import type { Principal } from '../../../core/principal.ts';
import type { IssuerConfig } from '../../../config/identity-schema.ts';
import { groupsClaim, stringClaim } from './claims.ts';
import { issuedToClient } from './client-token.ts';
import type { TokenReason } from './reasons.ts';

type Mapped = { ok: true; principal: Pick<Principal, 'id' | 'kind' | 'actsFor' | 'groups' | 'email' | 'tokenGroups' | 'providerGroups' | 'claimedId'> } | { ok: false; reason: TokenReason };

/**
 * @example
 * const mapped = mapPrincipal(cfg, payload, identity); // { ok: true, principal: { id: 'alice', kind: 'human', … } }
 */
export function mapPrincipal(cfg: IssuerConfig, payload: Readonly<Record<string, unknown>>, dir: HumanDirectory): Mapped {
  const map = cfg.principal;
  const claimedId = stringClaim(payload, map.id);
  if (!claimedId) return { ok: false, reason: 'token.claim_missing' };
  const verified = payload['email_verified'] === true;
  // An email names a person only once the provider has verified it.
  if (map.id === 'email' && !verified) return { ok: false, reason: 'token.email_unverified' };
  // An email id is the verified email itself, whatever claim `email` names.
  const verifiedEmail = !verified ? null : map.id === 'email' ? claimedId : verifiedEmailOf(payload, map.email ?? 'email');
  const idpGroups = map.groups ? groupsClaim(payload, map.groups) : [];
  const granted = grantedGroups(idpGroups, cfg.groupMap, cfg.trustGroups);

  if (map.kind === 'human') {
    // A token issued to a client application (client credentials) speaks for a program: never a human who may review.
    if (issuedToClient(payload)) return { ok: false, reason: 'token.not_a_person' };
    // A human acts for nobody.
    if (map.actsFor && stringClaim(payload, map.actsFor) !== undefined) return { ok: false, reason: 'token.claims_invalid' };
    const human = canonicalHuman({ id: claimedId, verifiedEmail }, dir, cfg.issuer);
    if (!human.ok) return human;
    const groups = new Set([...(human.configured?.groups ?? []), ...granted]);
    return { ok: true, principal: { id: human.id, kind: 'human', actsFor: null, groups: Object.freeze([...groups].sort()), email: human.email, tokenGroups: Object.freeze([...new Set(granted)].sort()), providerGroups: Object.freeze([...new Set(idpGroups)].sort()), ...(human.id !== claimedId ? { claimedId } : {}) } };
  }

  const known = dir.principal(claimedId);
  if (known && known.kind !== 'agent') return { ok: false, reason: 'principal.kind_mismatch' };
  // A configured agent speaks only through the issuers bound to it: another could mint a token with its id.
  if (known && dir.mayName && !dir.mayName(known.id, cfg.issuer, 'id')) return { ok: false, reason: 'principal.issuer_not_allowed' };
  // An id nobody configured that reads as a configured one (another case, a fullwidth letter) or hides characters
  // would show on every card as that principal (a trusted agent, a human): refused, as a human's is.
  if (!known && lookalikeId(claimedId, dir)) return { ok: false, reason: 'principal.id_confusable' };
  const claimedActsFor = map.actsFor ? stringClaim(payload, map.actsFor) : undefined;
  const actsFor = claimedActsFor !== undefined ? canonicalActsFor(claimedActsFor, dir) : (known?.actsFor ?? null);
  // An agent cannot act for itself, nor for another agent.
  if (actsFor !== null && (actsFor === claimedId || dir.principal(actsFor)?.kind === 'agent')) return { ok: false, reason: 'token.claims_invalid' };
  const groups = new Set([...(known?.groups ?? []), ...granted]);
  return { ok: true, principal: { id: claimedId, kind: 'agent', actsFor, groups: Object.freeze([...groups].sort()), email: verifiedEmail ?? known?.email ?? null } };
}
