/**
 * An OpenID Provider as a client sees it (openid-client): discovered once,
 * https only, except an issuer on loopback (a local provider in development
 * and tests), where plain http is allowed.
 */
import * as oidc from 'openid-client';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopback(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

/**
 * @example
 * const config = await discoverProvider('https://idp.example.com', 'countersign-cli');
 */
export async function discoverProvider(issuer: string, clientId: string, clientSecret?: string): Promise<oidc.Configuration> {
  const auth = clientSecret === undefined ? oidc.None() : oidc.ClientSecretPost(clientSecret);
  const insecure = new URL(issuer).protocol === 'http:' && isLoopback(issuer);
  return oidc.discovery(new URL(issuer), clientId, undefined, auth, insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
}
