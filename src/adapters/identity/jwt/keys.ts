/**
 * An issuer's signing keys: the configured JWKS URL, or the one its OIDC
 * discovery document names (fetched on first use, so the gateway starts
 * while an issuer is down). jose's remote key set caches keys, refetches
 * for an unknown kid at most once per cooldown, and never follows `jku` or
 * `x5u` headers: keys come only from the issuer's own URL.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

export interface KeySetOptions {
  readonly cooldownSeconds: number;
  readonly cacheMaxAgeSeconds: number;
  readonly timeoutMs: number;
}

/** OIDC Discovery 1.0 §4: the issuer without its trailing slash, then the well-known path. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const res = await fetch(discoveryUrl(issuer), { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`discovery for ${issuer} answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OIDC Discovery §4.3: the document's issuer must be exactly the one asked for.
  if (doc.issuer !== issuer) throw new Error(`discovery for ${issuer} names issuer ${String(doc.issuer)}`);
  if (typeof doc.jwks_uri !== 'string') throw new Error(`discovery for ${issuer} has no jwks_uri`);
  const url = new URL(doc.jwks_uri);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw new Error(`discovery for ${issuer} names a jwks_uri that is not https`);
  }
  return doc.jwks_uri;
}

/**
 * @example
 * const getKey = issuerKeys('https://token.actions.githubusercontent.com', undefined, opts);
 * await jwtVerify(token, getKey, { issuer, audience });
 */
export function issuerKeys(issuer: string, jwksUri: string | undefined, opts: KeySetOptions): JWTVerifyGetKey {
  const remote = (uri: string) =>
    createRemoteJWKSet(new URL(uri), { cooldownDuration: opts.cooldownSeconds * 1000, cacheMaxAge: opts.cacheMaxAgeSeconds * 1000, timeoutDuration: opts.timeoutMs });
  if (jwksUri) return remote(jwksUri);
  let set: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = 0;
  return async (header, token) => {
    if (!set || (failedAt && Date.now() - failedAt > opts.cooldownSeconds * 1000)) {
      failedAt = 0;
      set = discoverJwksUri(issuer, opts.timeoutMs).then(remote);
      set.catch(() => {
        failedAt = Date.now();
      });
    }
    return (await set)(header, token);
  };
}
