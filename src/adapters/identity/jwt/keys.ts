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

/** A key set that can be fetched again on demand: after a signature that failed with a kid it holds. */
export interface IssuerKeys extends JWTVerifyGetKey {
  /**
   * Fetches the set again unless it was fetched within the cooldown; true when it was. An issuer may publish a new
   * key under a kid the gateway has cached (a kid reused, a key replaced after a compromise): without this, tokens of
   * the new key fail and the replaced key keeps verifying until the cache is `cacheMaxAgeSeconds` old.
   */
  refresh(): Promise<boolean>;
}

/**
 * @example
 * const getKey = issuerKeys('https://token.actions.githubusercontent.com', undefined, opts);
 * await jwtVerify(token, getKey, { issuer, audience });
 */
export function issuerKeys(issuer: string, jwksUri: string | undefined, opts: KeySetOptions): IssuerKeys {
  const remote = (uri: string) =>
    createRemoteJWKSet(new URL(uri), { cooldownDuration: opts.cooldownSeconds * 1000, cacheMaxAge: opts.cacheMaxAgeSeconds * 1000, timeoutDuration: opts.timeoutMs });
  const refreshing = async (set: ReturnType<typeof remote>): Promise<boolean> => {
    if (set.coolingDown) return false;
    try {
      await set.reload();
      return true;
    } catch {
      return false;
    }
  };
  if (jwksUri) {
    const set = remote(jwksUri);
    return Object.assign((header: Parameters<JWTVerifyGetKey>[0], token: Parameters<JWTVerifyGetKey>[1]) => set(header, token), { refresh: () => refreshing(set) });
  }
  let set: Promise<ReturnType<typeof remote>> | undefined;
  let failedAt = 0;
  const getKey = async (header: Parameters<JWTVerifyGetKey>[0], token: Parameters<JWTVerifyGetKey>[1]) => {
    if (!set || (failedAt && Date.now() - failedAt > opts.cooldownSeconds * 1000)) {
      failedAt = 0;
      set = discoverJwksUri(issuer, opts.timeoutMs).then(remote);
      set.catch(() => {
        failedAt = Date.now();
      });
    }
    return (await set)(header, token);
  };
  const refresh = async () => {
    const current = await set?.catch(() => undefined);
    return current ? refreshing(current) : false;
  };
  return Object.assign(getKey, { refresh });
}
