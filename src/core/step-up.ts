/**
 * Step-up for risky approvals: a rule with `stepUp: webauthn` makes every
 * approval of the requests it holds count only once its reviewer confirms
 * with a passkey in the console. The ceremony's challenges are issued by the
 * server, used once, expire after two minutes and are bound to one human,
 * one purpose and, for an approval, one request at one digest: an assertion
 * obtained for one thing is worth nothing for another. This module holds the
 * pure parts: the records, the bindings and the checks.
 */
import { CountersignError } from './errors.ts';
import type { LoginCodeBinding } from './cli-login.ts';
import type { Principal } from './principal.ts';
import type { RequestRecord } from './request.ts';
import { requireRole, type Role } from './roles.ts';

/** How long a challenge may be answered. */
export const CHALLENGE_TTL_SECONDS = 120;

/** A first passkey needs a sign-in at most this old: a stolen, older session cannot enrol the thief's authenticator. */
export const FIRST_PASSKEY_LOGIN_SECONDS = 600;

/**
 * What a challenge is for: approving one request, breaking the glass on one request, registering a passkey,
 * confirming that registration with one already held, or confirming the removal of one passkey; or (`cli-login`) a
 * one-time code of `countersign login` (core/cli-login.ts), kept in the same single-use, expiring store. An answer to a
 * challenge for one purpose is refused for any other. `oidc-flow`: a single sign-on begun and not yet finished
 * (service/login-flow.ts), spent by its first callback.
 */
export type ChallengePurpose = 'approve' | 'break-glass' | 'register' | 'confirm-register' | 'remove-passkey' | 'cli-login' | 'oidc-flow';

/** How a human's first passkey may be enrolled: from any fresh console sign-in, or only from one through the identity provider. */
export type PasskeyEnrolment = 'any-sign-in' | 'sso';

/** A passkey of one human, as the store keeps it: public material only. */
export interface Passkey {
  /** The credential id, base64url. */
  readonly id: string;
  /** The human's canonical id. */
  readonly human: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  /** The authenticator's signature counter as last seen (0: the authenticator keeps none). */
  readonly counter: number;
  readonly transports: readonly string[];
  readonly label: string;
  readonly createdAt: string;
}

/** A challenge the server issued, as the store keeps it until it is used or expires. */
export interface StepUpChallenge {
  /** The challenge itself, base64url (random, 32 bytes). */
  readonly challenge: string;
  /** The human's canonical id. */
  readonly human: string;
  readonly purpose: ChallengePurpose;
  /** For `approve` and `break-glass`: the request and the digest the human saw. */
  readonly requestId: string | null;
  readonly digest: string | null;
  /** For `remove-passkey`: the credential id to be removed (absent on challenges issued before it existed). */
  readonly credentialId?: string | null;
  readonly expiresAt: string;
  /** For `cli-login`: who signed in, and the loopback address and PKCE challenge the code is bound to. */
  readonly login?: LoginCodeBinding;
}

/** What a challenge must match to be accepted. */
export interface ChallengeUse {
  readonly human: string;
  readonly purpose: ChallengePurpose;
  readonly requestId?: string;
  readonly digest?: string;
  readonly credentialId?: string;
}

/** Whether approvals of this request need a step-up (and so does breaking the glass on it). */
export function requiresStepUp(request: Pick<RequestRecord, 'decision'>): boolean {
  return request.decision.stepUp === 'webauthn';
}

/**
 * A new challenge bound to `use`, expiring CHALLENGE_TTL_SECONDS after `now`.
 *
 * @example
 * issueChallenge('q1…', { human: 'alice', purpose: 'approve', requestId: 'req_1', digest: 'sha256:…' }, now);
 */
export function issueChallenge(challenge: string, use: ChallengeUse, now: Date): StepUpChallenge {
  return {
    challenge,
    human: use.human,
    purpose: use.purpose,
    requestId: use.requestId ?? null,
    digest: use.digest ?? null,
    credentialId: use.credentialId ?? null,
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000).toISOString(),
  };
}

/** The refusal every failed step-up gets; `why` says what failed, `url` where to confirm instead. */
export function stepUpRefused(why: string, url?: string): CountersignError {
  return new CountersignError('STEP_UP_REQUIRED', `${why}${url ? `; confirm with a passkey at ${url}` : ''}`);
}

/**
 * Throws STEP_UP_REQUIRED unless `stored` (the challenge taken from the store, undefined when it was never issued or
 * already used) is still fresh at `now` and bound to exactly `use`.
 *
 * @example
 * checkChallenge(taken, { human: 'alice', purpose: 'approve', requestId: 'req_1', digest }, now);
 */
export function checkChallenge(stored: StepUpChallenge | undefined, use: ChallengeUse, now: Date): StepUpChallenge {
  if (!stored) throw stepUpRefused('the passkey confirmation answers no challenge this gateway has open (unknown, or already used)');
  if (Date.parse(stored.expiresAt) <= now.getTime()) throw stepUpRefused('the passkey confirmation came after its challenge expired');
  if (stored.human !== use.human) throw stepUpRefused('the passkey confirmation answers a challenge issued to someone else');
  if (stored.purpose !== use.purpose) throw stepUpRefused(`the passkey confirmation answers a challenge for another purpose (${stored.purpose})`);
  if ((stored.requestId ?? undefined) !== use.requestId) throw stepUpRefused('the passkey confirmation answers a challenge for another request');
  if ((stored.digest ?? undefined) !== use.digest) throw stepUpRefused('the passkey confirmation answers a challenge for another version of this request');
  if ((stored.credentialId ?? undefined) !== use.credentialId) throw stepUpRefused('the passkey confirmation answers a challenge to remove another passkey');
  return stored;
}

/**
 * Throws STEP_UP_REQUIRED when a first passkey is registered from a session older than FIRST_PASSKEY_LOGIN_SECONDS.
 *
 * @example
 * assertRecentLogin(session.createdAt, now); // a session of 3 minutes passes; one of an hour throws
 */
export function assertRecentLogin(sessionCreatedAt: string, now: Date): void {
  if (now.getTime() - Date.parse(sessionCreatedAt) > FIRST_PASSKEY_LOGIN_SECONDS * 1000) {
    throw stepUpRefused(`a first passkey needs a sign-in of the last ${FIRST_PASSKEY_LOGIN_SECONDS / 60} minutes: sign out, sign in again and register it then`);
  }
}

/**
 * Throws STEP_UP_REQUIRED when a first passkey would be enrolled from a session the enrolment rule does not accept:
 * under `sso`, only a console session started through the identity provider (`oidc`), never one from an API key.
 *
 * @example
 * assertEnrolmentSignIn('sso', 'api-key'); // throws
 */
export function assertEnrolmentSignIn(enrolment: PasskeyEnrolment, sessionMethod: string): void {
  if (enrolment === 'sso' && sessionMethod !== 'oidc') {
    throw stepUpRefused('a first passkey needs a sign-in through the identity provider (console.webauthn.enrolment: sso), not an API key: sign in with SSO and register it then');
  }
}

/**
 * Who may remove `human`'s passkeys, and how: the human themselves (`own`, with a confirmation by one of their
 * passkeys), or an administrator removing another human's (`admin`, the recovery after losing every authenticator;
 * administrators are the root of trust). An agent never; another human without the admin role never (ROLE_REQUIRED).
 * An administrator removing their own passkey is `own`: the role does not spare them the confirmation.
 *
 * @example
 * passkeyRemoval(alice, [], 'alice'); // 'own'
 * passkeyRemoval(root, ['admin'], 'alice'); // 'admin'
 */
export function passkeyRemoval(by: Principal, byRoles: readonly Role[], human: string): 'own' | 'admin' {
  if (by.kind !== 'human') throw new CountersignError('AGENT_CANNOT_SIGN_IN', `${by.id} is an agent; only humans hold and remove passkeys`);
  if (human === by.id) return 'own';
  requireRole(byRoles, ['admin'], "removing another human's passkeys");
  return 'admin';
}

/**
 * Throws STEP_UP_REQUIRED when an authenticator's signature counter went backwards (a cloned authenticator).
 * Counters of 0 on both sides mean the authenticator keeps none.
 */
export function assertCounterAdvances(stored: number, seen: number): void {
  if ((stored !== 0 || seen !== 0) && seen <= stored) {
    throw stepUpRefused('the passkey’s signature counter did not advance (the authenticator may have been cloned)');
  }
}

/** The challenge inside a WebAuthn response's clientDataJSON (base64url JSON), or undefined when it has none. */
export function challengeOfClientData(clientDataJSON: unknown): string | undefined {
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 4096) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(base64urlBytes(clientDataJSON))) as { challenge?: unknown };
    return typeof json.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(json.challenge) ? json.challenge : undefined;
  } catch {
    return undefined;
  }
}

function base64urlBytes(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}
