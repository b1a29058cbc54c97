/**
 * A console session: a human signed in to the web console. The browser holds
 * only a random token; the store keeps the token's SHA-256 (`key`), so whoever
 * reads the database cannot sign in with what they read. Every state-changing
 * form carries the session's CSRF token.
 */
import { sha256Hex } from './digest.ts';
import type { Principal } from './principal.ts';

export interface Session {
  /** SHA-256 (hex) of the token in the cookie; the token itself is never stored. */
  readonly key: string;
  /** The human as verified at sign-in (id, groups, email). */
  readonly principal: Principal;
  /** How the human proved who they are: `api-key`, `oidc`, … */
  readonly method: string;
  /**
   * For a session opened with an API key: that key, as apiKeyRef names it. The session lasts only while the
   * configuration in force holds that key for its human (service/session-resolve.ts); one opened with a key and
   * without this (from before keys were recorded) ends at its next use.
   */
  readonly credential?: string;
  /** Sent back in every state-changing form; compared in constant time. */
  readonly csrfToken: string;
  readonly createdAt: string;
  /** After this instant the session is over, whatever it is doing. */
  readonly expiresAt: string;
}

/**
 * The store's key for a cookie's token.
 *
 * @example
 * sessionKey('Zx…'); // '9f2c…' (64 hex digits)
 */
export function sessionKey(token: string): string {
  return sha256Hex(token);
}

/** A short name for a session in the audit log, that neither signs in nor finds the row by itself. */
export function sessionRef(key: string): string {
  return sha256Hex(`session-ref:${key}`).slice(0, 16);
}

/**
 * What a session keeps of the API key it was opened with: a SHA-256 of the key's configured hash (`sha256:<hex>`),
 * so the row matches the configuration's entry without holding the key or the hash that would find it there.
 *
 * @example
 * apiKeyRef('cs_…') === apiKeyRefOfHash('sha256:…'); // true for a key and its configured hash
 */
export function apiKeyRef(key: string): string {
  return apiKeyRefOfHash(`sha256:${sha256Hex(key)}`);
}

/** apiKeyRef from the key's configured hash (`sha256:<hex>`), as the identity adapter holds it. */
export function apiKeyRefOfHash(hash: string): string {
  return sha256Hex(`session-key:${hash}`);
}

export function isSessionExpired(session: Pick<Session, 'expiresAt'>, now: Date): boolean {
  return Date.parse(session.expiresAt) <= now.getTime();
}
