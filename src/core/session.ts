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

export function isSessionExpired(session: Pick<Session, 'expiresAt'>, now: Date): boolean {
  return Date.parse(session.expiresAt) <= now.getTime();
}
