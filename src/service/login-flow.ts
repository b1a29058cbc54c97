/**
 * A single sign-on's flow is good for one sign-in. Its state, PKCE verifier
 * and nonce travel in a sealed cookie (surfaces/http/console/oidc-flow-cookie.ts)
 * that says who began it and when, not whether it was used: whoever kept the
 * cookie of a finished sign-in could take its state, nonce and PKCE challenge
 * to the provider again for a fresh code, and bring it back for a second
 * session. So the first callback whose answer from the provider verifies
 * marks the flow used in the store (in the expiring challenges the passkeys
 * and `countersign login` use), before any session or code exists: of two
 * such callbacks of one flow, on any replicas, exactly one signs in. Nothing
 * is written when a flow begins, so starting sign-ins (which anyone may)
 * fills no table; a mark needs a sign-in the provider vouched for.
 */
import { hash } from 'node:crypto';
import type { Deps } from './deps.ts';

/** The mark of a flow: from its state (random, 256 bits) and apart from any other challenge's key. */
function flowKey(state: string): string {
  return `oidc-flow:${hash('sha256', `countersign-oidc-flow:${state}`, 'base64url')}`;
}

/**
 * Marks the flow of `state`, begun at `at` (ms), used: true for its first sign-in, false once marked. The mark
 * outlives the time a flow is taken (`maxAgeSeconds`, plus `skewSeconds` for replicas whose clocks differ).
 *
 * @example
 * if (!(await spendLoginFlow(deps, flow.state, flow.at, FLOW_MAX_AGE_SECONDS, 120))) refuse('login.flow_used');
 */
export async function spendLoginFlow(deps: Pick<Deps, 'store' | 'clock'>, state: string, at: number, maxAgeSeconds: number, skewSeconds: number): Promise<boolean> {
  const expiresAt = new Date(at + (maxAgeSeconds + skewSeconds) * 1000).toISOString();
  return deps.store.insertChallengeOnce({ challenge: flowKey(state), human: '', purpose: 'oidc-flow', requestId: null, digest: null, expiresAt }, deps.clock.now());
}
