/**
 * One configured issuer: verifies a token's signature with the issuer's keys
 * (only the configured algorithms), its `iss` exactly, its `aud`, `exp`,
 * `nbf` and `iat` within the clock skew, its `typ` and `crit` headers, the application it was issued
 * through when the issuer lists `clients`, the claims it pins (`claims`),
 * then what the preset requires,
 * and maps the claims to a principal.
 */
import { errors, jwtVerify, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose';
import type { Authentication } from '../../../core/ports.ts';
import type { Principal } from '../../../core/principal.ts';
import type { IssuerConfig } from '../../../config/identity-schema.ts';
import type { HumanDirectory } from '../../../core/human-identity.ts';
import { mapPrincipal } from './map-principal.ts';
import { issuerKeys, type IssuerKeys, type KeySetOptions } from './keys.ts';
import { clientAllowed } from './client-token.ts';
import { claimsPinned } from './claims.ts';
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
  /** The configured principals: a token's human is resolved to one of them when it can be (core/human-identity.ts). */
  readonly directory: HumanDirectory;
}

/** `iat` later than now plus the clock skew (the tolerance exp and nbf get). */
export function issuedInFuture(payload: Readonly<Record<string, unknown>>, now: Date, skewSeconds: number): boolean {
  const iat = payload['iat'];
  return typeof iat === 'number' && iat > now.getTime() / 1000 + skewSeconds;
}

/**
 * Whether a JWT's `typ` is one a credential has: none, `JWT`, or an access token's (`at+jwt`, RFC 9068 §2.1, and
 * vendors' `…-at+jwt`), with or without `application/` (RFC 7515 §4.1.9), in any case. Anything else says the
 * JWT is something else: `logout+jwt`, `secevent+jwt`, `dpop+jwt`.
 */
export function credentialType(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase().replace(/^application\//, '');
  return t === 'jwt' || t === 'at+jwt' || t.endsWith('-at+jwt');
}

async function refreshKeys(getKey: JWTVerifyGetKey): Promise<boolean> {
  const refresh = (getKey as Partial<IssuerKeys>).refresh;
  return typeof refresh === 'function' ? refresh() : false;
}

/**
 * @example
 * const v = createIssuerVerifier(cfg, { ...jwksOptions, clockSkewSeconds: 60, now: () => new Date(), directory: { principal: () => undefined, humanByEmail: () => undefined } });
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
      // No JWS extension is understood here (a JWT may not use b64: false): RFC 7515 §4.1.11 says refuse.
      if (header.crit !== undefined) return refuse('token.malformed');
      // A JWT that says it is something else than a credential: a logout token, a security event, a DPoP proof.
      if (!credentialType(header.typ)) return refuse('token.type_invalid');
      let payload: Record<string, unknown>;
      const verifyOnce = () =>
        jwtVerify(token, getKey, {
          issuer: cfg.issuer,
          audience: cfg.audience,
          algorithms,
          clockTolerance: opts.clockSkewSeconds,
          currentDate: opts.now(),
          requiredClaims: ['exp', 'iss', 'aud'],
        });
      try {
        try {
          ({ payload } = await verifyOnce());
        } catch (e) {
          // The issuer may have put a new key under a kid we hold (keys.ts): fetch its set again, at most once per
          // cooldown, and try once more; the key it replaced verifies nothing after that fetch.
          if (!(e instanceof errors.JWSSignatureVerificationFailed) || !(await refreshKeys(getKey))) throw e;
          ({ payload } = await verifyOnce());
        }
        // jose checks only that iat is a number (unless maxTokenAge is set): a token issued in the future is refused here.
        if (issuedInFuture(payload, opts.now(), opts.clockSkewSeconds)) return refuse('token.issued_in_future');
      } catch (e) {
        return refuse(joseReason(e));
      }
      // RFC 8417: a security event token (an OIDC back-channel logout token is one) reports an event; it is no credential.
      if (payload['events'] !== undefined) return refuse('token.type_invalid');
      // Another application at the provider may ask for a token for our audience too (client-token.ts).
      if (cfg.clients && !clientAllowed(payload, cfg.clients)) return refuse('token.client_not_allowed');
      // An issuer others share (gitlab.com, Buildkite, HCP Terraform) signs every tenant's jobs: only pinned claims tell ours.
      if (cfg.claims && !claimsPinned(payload, cfg.claims)) return refuse('token.claim_not_allowed');
      let github;
      if (cfg.preset === 'github-actions') {
        const gh = checkGithub(cfg, payload);
        if (!gh.ok) return refuse(gh.reason);
        github = gh.github;
      } else if (cfg.preset === 'okta') {
        const okta = checkOkta(payload);
        if (!okta.ok) return refuse(okta.reason);
      }
      const mapped = mapPrincipal(cfg, payload, opts.directory);
      if (!mapped.ok) return refuse(mapped.reason);
      const principal: Principal = Object.freeze({
        ...mapped.principal,
        issuer: cfg.issuer,
        claims: Object.freeze(payload),
        ...(github ? { github: Object.freeze(github) } : {}),
      });
      return { ok: true, principal };
    },
  };
}
