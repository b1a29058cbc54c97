/**
 * The cookie that carries an OIDC sign-in's state, PKCE verifier and nonce
 * from /auth/oidc/start to the callback. It is sealed with an HMAC so that a
 * cookie the gateway did not issue — one planted by a sibling subdomain, say,
 * to make a victim finish a sign-in the attacker began (login CSRF) — is
 * refused; over TLS it is also named `__Host-…`, which browsers accept only
 * from this very host, so not even a genuine cookie can be planted.
 *
 * The MAC key comes from the deployment's audit HMAC key, which every replica
 * mounts: every replica agrees, so a sign-in begun on one can finish on
 * another, and on the same process after a restart. Never from the login
 * client's secret: anyone gets a cookie sealed for them (the start needs no
 * credential, the payload is in clear), and a seal keyed by the client secret
 * would test guesses at it offline, two HMACs a guess.
 *
 * The seal holds the time the flow began, and a flow older than
 * FLOW_MAX_AGE_SECONDS is refused whatever the browser kept: Max-Age is the
 * browser's to honour, and a flow's state, verifier and nonce are in clear
 * to whoever holds the cookie, who could otherwise ask the provider for a
 * fresh code with them at any later time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isLoopbackRedirect, type CliLoginRequest } from '../../../core/cli-login.ts';

export interface Flow {
  state: string;
  verifier: string;
  nonce: string;
  next: string;
  /** When the flow began (ms since the epoch, the gateway's clock): it is refused after FLOW_MAX_AGE_SECONDS. */
  at: number;
  /** A sign-in for `countersign login`: where the code goes back to, with the CLI's state and PKCE challenge. */
  cli?: CliLoginRequest;
}

function cliRequestOk(cli: unknown): boolean {
  if (cli === undefined) return true;
  const r = cli as Partial<CliLoginRequest> | null;
  return typeof r === 'object' && r !== null && typeof r.redirectUri === 'string' && isLoopbackRedirect(r.redirectUri) && typeof r.state === 'string' && typeof r.codeChallenge === 'string';
}

export const FLOW_COOKIE = 'countersign_oidc';
/** How long a sign-in may take from its start to the provider's answer: the cookie's Max-Age, and the seal's limit. */
export const FLOW_MAX_AGE_SECONDS = 600;
/** A flow sealed this far in the future (replicas whose clocks differ) still opens. */
const FLOW_SKEW_MS = 60_000;
/** Over TLS: Secure, host-only, Path=/ (the prefix's rules). */
export const SECURE_FLOW_COOKIE = `__Host-${FLOW_COOKIE}`;

/**
 * The same on every replica, so a sign-in started on one may finish on
 * another: from `shared`, a random secret every replica of the deployment
 * derives alike (from the audit HMAC key, by HKDF: never a mask, which an
 * agent can have written into the log), never from the client secret.
 *
 * @example
 * const key = flowCookieKey(deps.sensitive.derive('countersign oidc flow cookie'));
 */
export function flowCookieKey(shared: Buffer): Buffer {
  return createHmac('sha256', shared).update('countersign oidc flow cookie v2').digest();
}

const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

/**
 * @example
 * const value = sealFlow(key, flow); // '<base64url JSON>.<base64url HMAC>'
 */
export function sealFlow(key: Buffer, flow: Flow): string {
  const payload = Buffer.from(JSON.stringify(flow)).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

/** The flow, or undefined when the cookie is missing, malformed, not sealed with `key`, or older than FLOW_MAX_AGE_SECONDS at `now`. */
export function openFlow(key: Buffer, raw: string | undefined, now: Date): Flow | undefined {
  const [payload, tag, ...rest] = (raw ?? '').split('.');
  if (!payload || !tag || rest.length) return undefined;
  const expected = Buffer.from(mac(key, payload));
  const given = Buffer.from(tag);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const flow = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<Flow>;
    if (typeof flow.state !== 'string' || typeof flow.verifier !== 'string' || typeof flow.nonce !== 'string' || typeof flow.next !== 'string' || !cliRequestOk(flow.cli)) return undefined;
    const age = now.getTime() - (typeof flow.at === 'number' ? flow.at : Number.NaN);
    // NaN (no time, from before it was sealed with one) fails both comparisons: refused.
    if (!(age <= FLOW_MAX_AGE_SECONDS * 1000 && age >= -FLOW_SKEW_MS)) return undefined;
    return flow as Flow;
  } catch {
    return undefined;
  }
}
