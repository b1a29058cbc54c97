/**
 * An OpenID Provider as a client sees it (openid-client): discovered once,
 * https only, except an issuer on loopback (a local provider in development
 * and tests), where plain http is allowed. openid-client (about 1 MB of
 * heap) loads with the first discovery, so a gateway without OIDC sign-in
 * does not hold it.
 */
import type * as oidc from 'openid-client';
import { lazyModule } from '../../lazy-module.ts';

/**
 * openid-client, loaded once by whoever needs it first; a failed load is forgotten so that a later sign-in tries again.
 *
 * @example
 * const { randomState } = await openidClient();
 */
export const openidClient = lazyModule(() => import('openid-client'));

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopback(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

/**
 * @example
 * const config = await discoverProvider('https://idp.example.com', 'countersign-cli');
 */
export async function discoverProvider(issuer: string, clientId: string, clientSecret?: string): Promise<oidc.Configuration> {
  const lib = await openidClient();
  const auth = clientSecret === undefined ? lib.None() : lib.ClientSecretPost(clientSecret);
  const insecure = new URL(issuer).protocol === 'http:' && isLoopback(issuer);
  return lib.discovery(new URL(issuer), clientId, undefined, auth, insecure ? { execute: [lib.allowInsecureRequests] } : undefined);
}
