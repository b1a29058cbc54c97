/**
 * The gateway's identity: API keys from the config and tokens from the
 * configured OIDC/JWT issuers behind one port. A bearer that looks like a
 * JWT goes to the issuer its (unverified) `iss` names, compared exactly;
 * that issuer then verifies everything, `iss` included.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { looksLikeJwt } from '../../core/bearer.ts';
import type { Identity } from '../../core/ports.ts';
import type { Principal } from '../../core/principal.ts';
import { rolesOf, type Role, type RoleGrants } from '../../core/roles.ts';
import type { IdentityConfig } from '../../config/identity-schema.ts';
import { createApiKeyIdentity, type ApiKeyPrincipal } from './api-keys.ts';
import { createIssuerVerifier, type IssuerVerifier } from './jwt/issuer.ts';

/** Longer than any real access token; bounds the work an unauthenticated caller can ask for. */
const MAX_TOKEN_LENGTH = 16_384;

export interface IdentityOptions {
  readonly principals: readonly (ApiKeyPrincipal & { readonly roles?: readonly Role[] })[];
  /** Roles by Countersign group (the config's `roles:`). */
  readonly roleGroups?: RoleGrants['groups'];
  readonly identity: IdentityConfig;
  readonly now: () => Date;
}

/**
 * @example
 * const identity = createIdentity({ principals: config.principals, identity: config.identity, now: () => new Date() });
 * const auth = await identity.authenticate(bearer); // { ok: true, principal } or { ok: false, reason }
 */
export function createIdentity(opts: IdentityOptions): Identity {
  const keys = createApiKeyIdentity(opts.principals, [
    ...opts.identity.issuers.map((i) => ({ issuer: i.issuer, kind: i.principal.kind, groupMap: i.groupMap, trustGroups: i.trustGroups })),
    ...(opts.identity.login ? [{ issuer: opts.identity.login.issuer, kind: 'human' as const, groupMap: opts.identity.login.groupMap, trustGroups: opts.identity.login.trustGroups === true }] : []),
  ]);
  const grants: RoleGrants = {
    principals: new Map(opts.principals.filter((p) => p.kind === 'human' && p.roles?.length).map((p) => [p.id, [...(p.roles ?? [])]])),
    groups: opts.roleGroups ?? {},
  };
  const verifiers = new Map<string, IssuerVerifier>();
  const login = opts.identity.login;
  for (const listed of opts.identity.issuers) {
    // At the sign-in provider, with the CLI's sign-in on, a person's token comes only through the device grant's
    // client, and only when the operator turned that grant on; else through none (the CLI's browser sign-in gives a
    // credential of the gateway, no token): an agent that gets a reviewer to sign in to any application there gets
    // nothing the gateway takes. The issuer's own `clients:` decides when it lists them.
    const cli = login?.issuer === listed.issuer && listed.principal.kind === 'human' ? login.cli : undefined;
    const cfg = !listed.clients && cli ? { ...listed, clients: cli.deviceCode && cli.clientId ? [cli.clientId] : [] } : listed;
    verifiers.set(cfg.issuer, createIssuerVerifier(cfg, { ...opts.identity.jwks, clockSkewSeconds: opts.identity.clockSkewSeconds, now: opts.now, directory: keys }));
  }
  return {
    async authenticate(bearer) {
      if (!looksLikeJwt(bearer)) return keys.authenticate(bearer);
      if (bearer.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token.malformed' };
      let iss: unknown;
      let header;
      try {
        header = decodeProtectedHeader(bearer);
        iss = decodeJwt(bearer).iss;
      } catch {
        return { ok: false, reason: 'token.malformed' };
      }
      const verifier = typeof iss === 'string' ? verifiers.get(iss) : undefined;
      if (!verifier) return { ok: false, reason: 'token.issuer_unknown' };
      return verifier.verify(bearer, header);
    },
    principal(id): Principal | undefined {
      return keys.principal(id);
    },
    humanByEmail(email) {
      return keys.humanByEmail(email);
    },
    agentByEmail(email) {
      return keys.agentByEmail(email);
    },
    roles(p) {
      return rolesOf(grants, p);
    },
    holdsKey(id, ref) {
      return keys.holdsKey(id, ref);
    },
    mayName(id, issuer, by) {
      return keys.mayName(id, issuer, by);
    },
    principalLike(fold) {
      return keys.principalLike(fold);
    },
    unlinkedAllowed(issuer) {
      return keys.unlinkedAllowed(issuer);
    },
    soleHumanPlace(issuer) {
      return keys.soleHumanPlace(issuer);
    },
    issuesHumans(issuer) {
      return keys.issuesHumans(issuer);
    },
    mapsGroup(issuer, providerGroups, group) {
      return keys.mapsGroup(issuer, providerGroups, group);
    },
    takesTokensOf(issuer, kind) {
      return keys.takesTokensOf(issuer, kind);
    },
  };
}
