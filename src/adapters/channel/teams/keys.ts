/**
 * Bot Framework's signing keys with their endorsements. jose's remote key
 * set drops the non-standard `endorsements` member of each JWK, and
 * Bot Framework requires it (a key may sign only for the channels it
 * endorses), so the key set is fetched here: OpenID metadata → `jwks_uri`
 * → keys, cached, refetched for an unknown kid at most once per cooldown.
 * Keys come only from the configured metadata URL, never from a token header.
 */
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { isSafeUrl } from './config.ts';

export interface EndorsedKey {
  readonly kid: string;
  readonly key: CryptoKey | Uint8Array;
  /** Channel ids the key may sign for (`msteams`, `webchat`, …). */
  readonly endorsements: readonly string[];
}

export interface BotFrameworkKeys {
  /** The key with this kid, or undefined when the (possibly refetched) set has none. Throws when the set cannot be fetched. */
  get(kid: string): Promise<EndorsedKey | undefined>;
}

export interface BotFrameworkKeysOptions {
  readonly openIdMetadataUrl: string;
  /** Bot Framework advises caching keys for at most a day (they rotate). */
  readonly cacheMaxAgeMs?: number;
  /** At most one refetch per cooldown for kids the set does not have. */
  readonly cooldownMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

async function getJson(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${new URL(url).host} answered ${res.status}`);
  const body: unknown = await res.json();
  if (typeof body !== 'object' || body === null) throw new Error(`${new URL(url).host} sent no JSON object`);
  return body as Record<string, unknown>;
}

async function fetchKeys(metadataUrl: string, timeoutMs: number): Promise<Map<string, EndorsedKey>> {
  const meta = await getJson(metadataUrl, timeoutMs);
  const jwksUri = meta.jwks_uri;
  if (typeof jwksUri !== 'string' || !isSafeUrl(jwksUri)) throw new Error('the OpenID metadata names no https jwks_uri');
  const jwks = await getJson(jwksUri, timeoutMs);
  if (!Array.isArray(jwks.keys)) throw new Error('the JWKS has no keys');
  const keys = new Map<string, EndorsedKey>();
  for (const jwk of jwks.keys as JWK[]) {
    // Only RSA signing keys with a kid: anything else cannot verify an RS256 token.
    if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    const raw = (jwk as { endorsements?: unknown }).endorsements;
    const endorsements = Array.isArray(raw) ? raw.filter((e): e is string => typeof e === 'string') : [];
    try {
      const { kty, n, e } = jwk;
      keys.set(jwk.kid, Object.freeze({ kid: jwk.kid, key: await importJWK({ kty, n, e }, 'RS256'), endorsements: Object.freeze(endorsements) }));
    } catch {
      // A malformed key is skipped; the others still verify.
    }
  }
  return keys;
}

/**
 * @example
 * const keys = createBotFrameworkKeys({ openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration' });
 * const k = await keys.get(header.kid); // { key, endorsements: ['msteams', …] } or undefined
 */
export function createBotFrameworkKeys(opts: BotFrameworkKeysOptions): BotFrameworkKeys {
  const maxAge = opts.cacheMaxAgeMs ?? 24 * 3600_000;
  const cooldown = opts.cooldownMs ?? 5 * 60_000;
  const timeout = opts.timeoutMs ?? 5_000;
  const now = opts.now ?? Date.now;
  let keys: Map<string, EndorsedKey> | undefined;
  let fetchedAt = 0;
  let attemptedAt = -Infinity;
  let inflight: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    // Concurrent misses share one fetch.
    inflight ??= (async () => {
      attemptedAt = now();
      try {
        keys = await fetchKeys(opts.openIdMetadataUrl, timeout);
        fetchedAt = now();
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  return {
    async get(kid) {
      if (inflight) await inflight.catch(() => undefined);
      const cooling = () => now() - attemptedAt < cooldown;
      if (!keys) {
        // Nothing to verify with: fetch now, unless a fetch just failed (then refuse until the cooldown passes).
        if (cooling()) throw new Error('the Bot Framework keys are unavailable');
        await refresh();
      } else if (now() - fetchedAt > maxAge && !cooling()) {
        // Stale keys still verify while the metadata is down.
        await refresh().catch(() => undefined);
      }
      const hit = keys?.get(kid);
      if (hit || cooling()) return hit;
      await refresh();
      return keys?.get(kid);
    },
  };
}
