/**
 * One configured issuer: verifies a token's signature with the issuer's keys
 * (only the configured algorithms), its `iss` exactly, its `aud`, `exp`,
 * `nbf` and `iat` within the clock skew, then what the preset requires, and
 * maps the claims to a principal.
 */
import { jwtVerify, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose';
import type { Authentication } from '../../../core/ports.ts';
import type { Principal } from '../../../core/principal.ts';
import type { IssuerConfig } from '../../../config/identity-schema.ts';
import { groupsClaim, stringClaim } from './claims.ts';
import { issuerKeys, type KeySetOptions } from './keys.ts';
import { checkGithub, checkOkta } from './presets.ts';
import { joseReason, type TokenReason } from './reasons.ts';

/** RFC 7517 leaves kid free-form; ours are looked up, never used as a path or in a query, and odd ones are refused early. */
const KID = /^[A-Za-z0-9._~+=-]{1,128}$/;

const DEFAULT_ALGORITHMS = { 'github-actions': ['RS256'], okta: ['RS256'], generic: ['RS256', 'ES256'] } as const;

export interface IssuerVerifier {
  readonly issuer: string;
  verify(token: string, header: ProtectedHeaderParameters): Promise<Authentication>;
}

export interface IssuerOptions extends KeySetOptions {
  readonly clockSkewSeconds: number;
  readonly now: () => Date;
  /** A principal from the config with the same id, whose groups, actsFor and email add to the token's. */
  readonly configured: (id: string) => Principal | undefined;
}

/**
 * @example
 * const v = createIssuerVerifier(cfg, { ...jwksOptions, clockSkewSeconds: 60, now: () => new Date(), configured: () => undefined });
 * const auth = await v.verify(token, decodeProtectedHeader(token));
 */
export function createIssuerVerifier(cfg: IssuerConfig, opts: IssuerOptions, getKey: JWTVerifyGetKey = issuerKeys(cfg.issuer, cfg.jwksUri, opts)): IssuerVerifier {
  const algorithms = [...(cfg.algorithms ?? DEFAULT_ALGORITHMS[cfg.preset ?? 'generic'])];
  const refuse = (reason: TokenReason): Authentication => ({ ok: false, reason, issuer: cfg.issuer });
  return {
    issuer: cfg.issuer,
    async verify(token, header) {
      if (typeof header.alg !== 'string' || !(algorithms as string[]).includes(header.alg)) return refuse('token.alg_not_allowed');
      if (header.kid !== undefined && (typeof header.kid !== 'string' || !KID.test(header.kid))) return refuse('token.kid_invalid');
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: cfg.issuer,
          audience: cfg.audience,
          algorithms,
          clockTolerance: opts.clockSkewSeconds,
          currentDate: opts.now(),
          requiredClaims: ['exp', 'iss', 'aud'],
        }));
      } catch (e) {
        return refuse(joseReason(e));
      }
      let github;
      if (cfg.preset === 'github-actions') {
        const gh = checkGithub(cfg, payload);
        if (!gh.ok) return refuse(gh.reason);
        github = gh.github;
      } else if (cfg.preset === 'okta') {
        const okta = checkOkta(payload);
        if (!okta.ok) return refuse(okta.reason);
      }
      const map = cfg.principal;
      const id = stringClaim(payload, map.id);
      if (!id) return refuse('token.claim_missing');
      // An email names a person only once the provider has verified it.
      if (map.id === 'email' && payload.email_verified !== true) return refuse('token.email_unverified');
      const known = opts.configured(id);
      if (known && known.kind !== map.kind) return refuse('principal.kind_mismatch');
      const tokenGroups = map.groups ? groupsClaim(payload, map.groups) : [];
      const groups = new Set([...(known?.groups ?? []), ...tokenGroups, ...tokenGroups.flatMap((g) => cfg.groupMap[g] ?? [])]);
      const actsFor = (map.actsFor ? stringClaim(payload, map.actsFor) : undefined) ?? known?.actsFor ?? null;
      // An agent cannot act for itself; a human acts for nobody.
      if (actsFor !== null && (map.kind === 'human' || actsFor === id)) return refuse('token.claims_invalid');
      const email = (map.email && payload.email_verified !== false ? stringClaim(payload, map.email) : undefined) ?? known?.email ?? null;
      const principal: Principal = Object.freeze({
        id,
        kind: map.kind,
        actsFor,
        groups: Object.freeze([...groups].sort()),
        email,
        issuer: cfg.issuer,
        claims: Object.freeze(payload),
        ...(github ? { github: Object.freeze(github) } : {}),
      });
      return { ok: true, principal };
    },
  };
}
