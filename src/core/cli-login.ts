/**
 * `countersign login` through the browser, the pure parts. The CLI listens on
 * a loopback address (RFC 8252 §7.3: `http://127.0.0.1:<port>/callback`, an
 * IP literal, §8.3) and sends the browser to the gateway with a `state` and a
 * PKCE challenge (RFC 7636, S256 only). The gateway signs the human in at the
 * identity provider with its own client, then sends the browser back to that
 * loopback with a one-time code. The code is worth something only with the
 * verifier of the challenge, for that loopback address, once, for a minute:
 * a code that lands on the loopback of another machine (the reviewer's, when
 * an agent sent her the link) reaches no program that holds the verifier.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.ts';

/** How long a code may wait for its redemption. */
export const LOGIN_CODE_TTL_SECONDS = 60;

/** Prefix of the credential a redeemed code gives: the bearer is routed to the sign-ins, never to the API keys. */
export const CLI_TOKEN_PREFIX = 'csl_';

/** What the CLI asks for at /auth/cli/start. */
export interface CliLoginRequest {
  readonly redirectUri: string;
  readonly state: string;
  readonly codeChallenge: string;
}

/** A code waiting for its redemption, as the store keeps it (under the SHA-256 of the code, never the code). */
export interface LoginCodeBinding {
  readonly principal: Principal;
  readonly redirectUri: string;
  readonly codeChallenge: string;
}

const STATE = /^[A-Za-z0-9._~-]{16,256}$/;
// RFC 7636 §4.2: S256 of a verifier is 32 bytes, 43 base64url characters; §4.1: a verifier is 43 to 128 unreserved characters.
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** Whether `uri` is a loopback redirect a CLI may ask for: http, 127.0.0.1 or [::1], an explicit port, path /callback, nothing else. */
export function isLoopbackRedirect(uri: string): boolean {
  if (uri.length > 64) return false;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  // `localhost` may resolve elsewhere (RFC 8252 §8.3); a query or fragment would be a place to smuggle things.
  const host = u.hostname === '127.0.0.1' || u.hostname === '[::1]';
  return u.protocol === 'http:' && host && u.port !== '' && u.pathname === '/callback' && u.search === '' && u.hash === '' && u.username === '' && u.password === '' && `${u.origin}/callback` === uri;
}

/**
 * The CLI's request, or a sentence saying what is wrong with it.
 *
 * @example
 * parseCliLoginRequest({ redirect_uri: 'http://127.0.0.1:53121/callback', state: 'q1…', code_challenge: 'E9M…', code_challenge_method: 'S256' });
 */
export function parseCliLoginRequest(query: Readonly<Record<string, string | undefined>>): { ok: true; request: CliLoginRequest } | { ok: false; why: string } {
  const redirectUri = query['redirect_uri'] ?? '';
  const state = query['state'] ?? '';
  const codeChallenge = query['code_challenge'] ?? '';
  if (!isLoopbackRedirect(redirectUri)) return { ok: false, why: 'redirect_uri must be http://127.0.0.1:<port>/callback or http://[::1]:<port>/callback' };
  if (!STATE.test(state)) return { ok: false, why: 'state must be 16 to 256 URL-safe characters' };
  if (query['code_challenge_method'] !== 'S256' || !CHALLENGE.test(codeChallenge)) return { ok: false, why: 'code_challenge must be an S256 PKCE challenge (code_challenge_method=S256)' };
  return { ok: true, request: { redirectUri, state, codeChallenge } };
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) compared with the challenge, in constant time. */
export function verifierMatches(verifier: unknown, challenge: string): boolean {
  if (typeof verifier !== 'string' || !VERIFIER.test(verifier)) return false;
  const given = Buffer.from(hash('sha256', verifier, 'base64url'));
  const expected = Buffer.from(challenge);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The store's key for a code: its SHA-256, so whoever reads the store cannot redeem what they read. */
export function loginCodeKey(code: string): string {
  return hash('sha256', `countersign-login-code:${code}`, 'hex');
}
