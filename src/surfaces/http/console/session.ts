/**
 * Console sessions at the HTTP edge — the contract every login route uses.
 *
 * A login route (the API-key form in login.ts today; the OIDC callback of
 * single sign-on later) verifies a human its own way, then calls
 *
 *   await startConsoleSession(c, deps, principal, 'oidc');
 *   return c.redirect(safeNext(next), 303);
 *
 * which refuses agents (AGENT_CANNOT_SIGN_IN), ends any session this browser
 * already had (`replaced`: no session fixation), stores a new server-side
 * session (service/session-start.ts: the token's SHA-256, the principal as
 * verified, the method, a CSRF token, the expiry; `session.started` in the
 * audit log) and sets the cookie:
 *
 *   countersign_session=<256 random bits>; Path=/; HttpOnly; SameSite=Lax; Max-Age=<console.sessionTtl>
 *
 * named `__Host-countersign_session` and marked Secure when the request came
 * over TLS or `console.secureCookies` is true. Nothing else about the human
 * is in the browser. Every state-changing console form then carries the
 * session's CSRF token (`_csrf`) and must come from the console's origin.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { CountersignError } from '../../../core/errors.ts';
import type { Principal } from '../../../core/principal.ts';
import type { Session } from '../../../core/session.ts';
import type { Deps } from '../../../service/deps.ts';
import { endSession } from '../../../service/session-end.ts';
import { resolveSession } from '../../../service/session-resolve.ts';
import { startSession } from '../../../service/session-start.ts';
import type { AppEnv } from '../context.ts';
import { DEFAULT_GROUPS_MAX_AGE_SECONDS } from '../../../core/known-human.ts';
import { IN_FORCE_MAX_AGE_MS } from '../../../service/config-in-force.ts';

export const SESSION_COOKIE = 'countersign_session';
/** The name over TLS: the __Host- prefix makes browsers refuse it unless Secure, host-only and Path=/. */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/** Who is signed in, for a console handler. */
export interface SignedIn {
  readonly session: Session;
  /** The human as the identity knows them now (groups included). */
  readonly principal: Principal;
}

/** Whether this response's cookies are Secure. */
export function secureCookies(c: Context<AppEnv>): boolean {
  return c.get('console').secureCookies ?? new URL(c.req.url).protocol === 'https:';
}

function cookieName(c: Context<AppEnv>): string {
  return secureCookies(c) ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** The client's address and agent, as the audit log keeps them with a sign-in. */
export function clientContext(c: Context<AppEnv>): Record<string, string> {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  const ua = c.req.header('user-agent');
  return {
    surface: 'console',
    ...(incoming?.socket?.remoteAddress ? { remoteAddress: incoming.socket.remoteAddress } : {}),
    ...(ua ? { userAgent: ua.slice(0, 200) } : {}),
  };
}

/**
 * Signs a verified human in to the console: the one way any login route
 * creates a session (see the module header).
 *
 * @example
 * await startConsoleSession(c, deps, alice, 'api-key', apiKeyRef(key));
 * return c.redirect('/', 303);
 */
export async function startConsoleSession(c: Context<AppEnv>, deps: Deps, principal: Principal, method: string, credential?: string): Promise<Session> {
  const settings = c.get('console');
  const previous = getCookie(c, cookieName(c));
  if (previous) await endSession(deps, previous, 'replaced');
  // A session holds the groups the identity provider gave at sign-in: it ends once they are too old to count in chat
  // (identity.login.groupsMaxAge, core/known-human.ts), so the console never decides on older ones than chat may.
  const ttlSeconds = method === 'oidc' ? Math.min(settings.sessionTtlSeconds, deps.groupsMaxAgeSeconds ?? DEFAULT_GROUPS_MAX_AGE_SECONDS) : settings.sessionTtlSeconds;
  const { token, session } = await startSession(deps, { principal, method, ttlSeconds, context: clientContext(c), ...(credential !== undefined ? { credential } : {}) });
  setCookie(c, cookieName(c), token, { path: '/', httpOnly: true, sameSite: 'Lax', secure: secureCookies(c), maxAge: ttlSeconds });
  return session;
}

/** The signed-in human of this request, or undefined (no cookie, unknown, expired or ended). */
export async function readConsoleSession(c: Context<AppEnv>, deps: Deps): Promise<SignedIn | undefined> {
  const token = getCookie(c, cookieName(c));
  // As for a bearer (service/authenticate.ts): no session is honoured under a config no longer in force.
  if (token) await deps.inForce?.check(IN_FORCE_MAX_AGE_MS);
  const signedIn = token ? await resolveSession(deps, token) : undefined;
  // The CLI's credential is a sign-in too, but for the API only: no console without a browser sign-in (and its CSRF token).
  return signedIn?.session.method === 'oidc-cli' ? undefined : signedIn;
}

/** Signs out: the session ends (`session.ended`, reason logout) and the cookie is cleared. */
export async function endConsoleSession(c: Context<AppEnv>, deps: Deps): Promise<void> {
  const token = getCookie(c, cookieName(c));
  if (token) await endSession(deps, token, 'logout');
  deleteCookie(c, cookieName(c), { path: '/', secure: secureCookies(c) });
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Refuses a form that a browser says came from another origin. Browsers send
 * Origin with every POST; without it (a script, curl) the CSRF token decides.
 */
export function assertSameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header('origin');
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') throw new CountersignError('CSRF_REJECTED', `a form from a ${site} page is refused`);
  if (origin === undefined) return;
  const url = new URL(c.req.url);
  const own = c.get('console').origin ?? `${url.protocol}//${c.req.header('host') ?? url.host}`;
  if (origin !== own) throw new CountersignError('CSRF_REJECTED', 'a form from another origin is refused');
}

/** Refuses a state-changing form without its session's CSRF token. */
export function assertCsrf(session: Session, given: unknown): void {
  if (!sameSecret(given, session.csrfToken)) throw new CountersignError('CSRF_REJECTED', 'the form lacks this session’s CSRF token; reload the page and try again');
}

/** A same-site path to go to after sign-in, never another site (`//evil`, `/\evil`). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/';
}
