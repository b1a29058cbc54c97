/**
 * API-key identity. Keys are stored only as `sha256:<hex>`; a presented key
 * is hashed and looked up, so the gateway never holds a key it could leak.
 */
import { hash, randomBytes } from 'node:crypto';
import { emailKey, idFold, inboxSpelling, mailboxOf } from '../../core/human-identity.ts';
import { grantedGroups } from '../../core/group-mapping.ts';
import type { Identity } from '../../core/ports.ts';
import type { Principal } from '../../core/principal.ts';
import { apiKeyRefOfHash } from '../../core/session.ts';

export interface ApiKeyPrincipal extends Principal {
  readonly apiKeys: readonly string[];
  /** The token issuers that may name this principal (the config's `issuers:`; see core/human-identity.ts mayName). */
  readonly issuers?: readonly string[];
}

/** The `sha256:<hex>` form of a key, as the config stores it. */
export function hashApiKey(key: string): string {
  // One-shot (UTF-8 in, hex out): no Hash object per presented key, which every /v1 call hashes.
  return `sha256:${hash('sha256', key, 'hex')}`;
}

/**
 * A new random key (256 bits) and the line to paste into the config.
 *
 * @example
 * const { key, hash } = generateApiKey(); // key 'cs_…', hash 'sha256:…'
 */
export function generateApiKey(): { key: string; hash: string } {
  const key = `cs_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key) };
}

/** An issuer whose tokens name principals, and how it maps its provider's groups (absent: it grants none). */
export interface TokenIssuer {
  readonly issuer: string;
  readonly kind: 'agent' | 'human';
  readonly groupMap?: Readonly<Record<string, readonly string[]>>;
  readonly trustGroups?: boolean;
}

/**
 * @param tokenIssuers every issuer whose tokens name principals (identity.issuers and identity.login), with the kind of
 * principal its tokens name: with more than one of a kind, a configured principal of that kind that lists none of them
 * is named by no token's id. An issuer of the other kind never names it (its token is refused as the wrong kind).
 */
export function createApiKeyIdentity(principals: readonly ApiKeyPrincipal[], tokenIssuers: readonly TokenIssuer[] = []): Identity {
  const soleIssuer = (kind: 'agent' | 'human') => new Set(tokenIssuers.filter((t) => t.kind === kind).map((t) => t.issuer)).size <= 1;
  const sole = { agent: soleIssuer('agent'), human: soleIssuer('human') };
  const humanIssuers = new Set(tokenIssuers.filter((t) => t.kind === 'human').map((t) => t.issuer));
  // The places humans come from: an issuer's API tokens and the console's sign-in are two even at one provider, whose
  // ID tokens and access tokens need not name a person by the same `sub` (Okta's custom servers, Entra's pairwise ids).
  const humanPlaces = tokenIssuers.filter((t) => t.kind === 'human').length;
  // A human the configuration names reaches the gateway by a key or a chat account too: a token that carries no
  // verified email and not their id could be them, under another name.
  const configuresHumans = principals.some((p) => p.kind === 'human');
  const issuersOf = new Map<string, ReadonlySet<string>>();
  const byHash = new Map<string, Principal>();
  const byId = new Map<string, Principal>();
  const byEmail = new Map<string, Principal>();
  const agentsByEmail = new Map<string, Principal>();
  const byFold = new Map<string, Principal>();
  const keyRefs = new Map<string, Set<string>>();
  for (const p of principals) {
    const principal: Principal = Object.freeze({
      id: p.id,
      kind: p.kind,
      actsFor: p.actsFor,
      groups: Object.freeze([...p.groups]),
      email: p.email,
    });
    byId.set(p.id, principal);
    if (!byFold.has(idFold(p.id))) byFold.set(idFold(p.id), principal);
    const key = p.kind === 'human' && p.email ? emailKey(p.email) : undefined;
    // The config check refuses two humans with one email; the first stays if one slipped through.
    if (key !== undefined && !byEmail.has(key)) byEmail.set(key, principal);
    const agentKey = p.kind === 'agent' && p.email ? emailKey(p.email) : undefined;
    // Under the spelling of its inbox too (a Gmail address without its dots): whoever reads that inbox reads the agent's mail.
    for (const k of agentKey === undefined ? [] : [agentKey, inboxSpelling(agentKey)]) if (!agentsByEmail.has(k)) agentsByEmail.set(k, principal);
    // One principal per key, naming it: a request keeps which key asked for it (core/requester.ts).
    for (const h of p.apiKeys) byHash.set(h, Object.freeze({ ...principal, keyRef: apiKeyRefOfHash(h) }));
    keyRefs.set(p.id, new Set(p.apiKeys.map(apiKeyRefOfHash)));
    if (p.issuers) issuersOf.set(p.id, new Set(p.issuers));
  }
  return {
    async authenticate(bearer) {
      if (bearer.length === 0 || bearer.length > 512) return { ok: false, reason: 'key.malformed' };
      const principal = byHash.get(hashApiKey(bearer));
      return principal ? { ok: true, principal } : { ok: false, reason: 'key.unknown' };
    },
    principal(id) {
      return byId.get(id);
    },
    humanByEmail(email) {
      const wanted = emailKey(email);
      return wanted === undefined ? undefined : byEmail.get(wanted);
    },
    agentByEmail(email) {
      const wanted = emailKey(email);
      return wanted === undefined ? undefined : (agentsByEmail.get(wanted) ?? agentsByEmail.get(inboxSpelling(wanted)) ?? agentsByEmail.get(mailboxOf(wanted)));
    },
    // Keys alone grant no role; createIdentity adds the configured ones.
    roles: () => [],
    holdsKey(id, ref) {
      return keyRefs.get(id)?.has(ref) === true;
    },
    principalLike(fold) {
      return byFold.get(fold);
    },
    mayName(id, issuer, by) {
      const listed = issuersOf.get(id);
      if (listed) return listed.has(issuer);
      // Unlisted: a verified email is the issuer's word (README, "One human, one identity"); an id, only where no
      // other issuer of its kind could mint a token with the same one.
      const kind = byId.get(id)?.kind;
      return by === 'email' || (kind !== undefined && sole[kind]);
    },
    issuesHumans(issuer) {
      return humanIssuers.has(issuer);
    },
    takesTokensOf(issuer, kind) {
      return tokenIssuers.some((t) => t.issuer === issuer && t.kind === kind);
    },
    mapsGroup(issuer, providerGroups, group) {
      // Every mapping this issuer has for humans (an entry of identity.issuers, identity.login): any that grants it.
      return tokenIssuers.some((t) => {
        if (t.issuer !== issuer || t.kind !== 'human') return false;
        const map = t.groupMap ?? {};
        if (providerGroups !== undefined) return grantedGroups(providerGroups, map, t.trustGroups === true).includes(group);
        // What the provider named was not kept: only a group this mapping grants to someone still counts.
        return t.trustGroups === true || Object.values(map).some((gs) => gs.includes(group));
      });
    },
    soleHumanPlace(issuer) {
      return humanPlaces === 1 && humanIssuers.has(issuer);
    },
    unlinkedAllowed(issuer) {
      // An issuer no longer configured vouches for no one: an approval its token gave counts for nothing.
      return !configuresHumans && humanPlaces === 1 && humanIssuers.has(issuer);
    },
  };
}
