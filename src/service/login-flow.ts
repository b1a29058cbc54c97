/**
 * A single sign-on's flow is good for one callback. Its state, PKCE verifier
 * and nonce travel in a sealed cookie (surfaces/http/console/oidc-flow-cookie.ts)
 * that says who began it and when, not whether it was used: whoever kept the
 * cookie of a finished sign-in could take its state, nonce and PKCE challenge
 * to the provider again for a fresh code, and bring it back for a second
 * session. So each flow is recorded in the store when it begins (in the
 * single-use, expiring challenges the passkeys and `countersign login` use)
 * and taken by its first callback, before the code is exchanged: of two
 * callbacks of one flow, on any replicas, exactly one gets it.
 */
import { hash } from 'node:crypto';
import type { Deps } from './deps.ts';

/** The row of a flow: from its state (random, 256 bits) and apart from any other challenge's key. */
function flowKey(state: string): string {
  return `oidc-flow:${hash('sha256', `countersign-oidc-flow:${state}`, 'base64url')}`;
}

/**
 * Records a flow begun at `at` (ms), good until `maxAgeSeconds` later.
 *
 * @example
 * await beginLoginFlow(deps, flow.state, flow.at, FLOW_MAX_AGE_SECONDS);
 */
export async function beginLoginFlow(deps: Pick<Deps, 'store' | 'clock'>, state: string, at: number, maxAgeSeconds: number): Promise<void> {
  const expiresAt = new Date(at + maxAgeSeconds * 1000).toISOString();
  await deps.store.insertChallenge({ challenge: flowKey(state), human: '', purpose: 'oidc-flow', requestId: null, digest: null, expiresAt }, deps.clock.now());
}

/**
 * Spends the flow of `state`: true for its first callback, false once spent (or never begun here, or expired).
 *
 * @example
 * if (!(await spendLoginFlow(deps, flow.state))) refuse('login.flow_used');
 */
export async function spendLoginFlow(deps: Pick<Deps, 'store' | 'clock'>, state: string): Promise<boolean> {
  const taken = await deps.store.takeChallenge(flowKey(state));
  return taken?.purpose === 'oidc-flow' && Date.parse(taken.expiresAt) > deps.clock.now().getTime();
}
