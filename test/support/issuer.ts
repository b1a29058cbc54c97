/**
 * A token issuer on 127.0.0.1 for tests: an OIDC discovery document and a
 * JWKS over real HTTP, keys that can be rotated, tokens signed with jose the
 * way an identity provider signs them, and a count of every fetch the
 * gateway makes (to prove caching and that `jku` is never followed).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: Parameters<SignJWT['sign']>[0];
  publicJwk: JWK;
}

export interface TestIssuer {
  /** The issuer URL (what tokens carry in `iss`), e.g. http://127.0.0.1:PORT/oauth2/default */
  issuer: string;
  origin: string;
  jwksUri: string;
  fetches: { discovery: number; jwks: number; other: number };
  current: SigningKey;
  /** Makes a new key current; the old one stays published unless `retire` is set. */
  rotate(opts?: { retire?: boolean }): Promise<SigningKey>;
  /** Publishes a new key under the current key's kid in its place (an issuer that reuses a kid), and makes it current. */
  replaceCurrent(): Promise<SigningKey>;
  sign(claims: JWTPayload, opts?: { key?: SigningKey; header?: Record<string, unknown>; expiresIn?: number | null; iss?: string }): Promise<string>;
  close(): Promise<void>;
}

let serial = 0;
export async function newSigningKey(alg: 'RS256' | 'ES256' = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `k${++serial}-${Math.random().toString(36).slice(2, 8)}`;
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * @example
 * const idp = await startTestIssuer('/oauth2/default');
 * const token = await idp.sign({ sub: 'agent-1', aud: 'countersign' });
 */
export async function startTestIssuer(path = ''): Promise<TestIssuer> {
  let published: SigningKey[] = [await newSigningKey()];
  const fetches = { discovery: 0, jwks: 0, other: 0 };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === `${path}/.well-known/openid-configuration`) {
      fetches.discovery++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: self.issuer, jwks_uri: self.jwksUri, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }));
    } else if (url.pathname === `${path}/keys`) {
      fetches.jwks++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
    } else {
      fetches.other++;
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const self: TestIssuer = {
    issuer: `${origin}${path}`,
    origin,
    jwksUri: `${origin}${path}/keys`,
    fetches,
    current: published[0]!,
    async rotate(opts = {}) {
      const next = await newSigningKey();
      published = opts.retire ? [next] : [...published, next];
      self.current = next;
      return next;
    },
    async replaceCurrent() {
      const fresh = await newSigningKey(self.current.alg);
      const next = { ...fresh, kid: self.current.kid, publicJwk: { ...fresh.publicJwk, kid: self.current.kid } };
      published = published.map((k) => (k.kid === next.kid ? next : k));
      self.current = next;
      return next;
    },
    async sign(claims, opts = {}) {
      const key = opts.key ?? self.current;
      const now = Math.floor(Date.now() / 1000);
      const body: JWTPayload = { iss: opts.iss ?? self.issuer, iat: now, ...(opts.expiresIn === null ? {} : { exp: now + (opts.expiresIn ?? 300) }), ...claims };
      return new SignJWT(body).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header }).sign(key.privateKey);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return self;
}

/** A JWT with `alg: none` and no signature, as an attacker would send it. */
export function unsignedToken(claims: JWTPayload): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}
