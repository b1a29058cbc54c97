/**
 * Step-up approvals: the console asks for options (a challenge bound to the
 * reviewer, the request and its digest), the browser's authenticator answers,
 * and the answer is verified here — the challenge taken from the store (once),
 * the passkey the reviewer's own, user verification, origin and RP id, a
 * counter that advances — before the review use case records the approval
 * with that evidence. Anything short of it is STEP_UP_REQUIRED.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { assertMayReview } from '../core/review.ts';
import { assertCounterAdvances, challengeOfClientData, checkChallenge, issueChallenge, requiresStepUp, stepUpRefused, type ChallengeUse } from '../core/step-up.ts';
import type { PasskeyCeremony } from '../core/passkey-ceremony.ts';
import type { GrantOffer } from '../core/grant.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';
import { review } from './review.ts';
import { mintStepUp } from './step-up-evidence.ts';

export function ceremonyOf(deps: Deps): PasskeyCeremony {
  if (!deps.passkeys) throw stepUpRefused('passkeys are not set up on this gateway (console.webauthn)');
  return deps.passkeys;
}

function humanOnly(who: Principal): void {
  if (who.kind !== 'human') throw new CountersignError('AGENT_CANNOT_REVIEW', `${who.id} is an agent; only humans confirm with a passkey`);
}

/**
 * Verifies an assertion by one of `human`'s passkeys answering a challenge issued for `use`; returns the credential id.
 * The challenge is taken (used up) before anything else is checked, so an answer is tried once.
 */
export async function verifyAssertion(deps: Deps, human: Principal, use: ChallengeUse, response: unknown): Promise<string> {
  humanOnly(human);
  const ceremony = ceremonyOf(deps);
  const clientData = typeof response === 'object' && response !== null ? (response as { response?: { clientDataJSON?: unknown } }).response?.clientDataJSON : undefined;
  const challenge = challengeOfClientData(clientData);
  const taken = challenge === undefined ? undefined : await deps.store.takeChallenge(challenge);
  checkChallenge(taken, use, deps.clock.now());
  const id = (response as { id?: unknown }).id;
  const passkey = typeof id === 'string' ? await deps.store.getPasskey(id) : undefined;
  if (!passkey || passkey.human !== human.id) throw stepUpRefused('the passkey confirmation came from a passkey that is not one of yours');
  const { counter } = await ceremony.verifyAuthentication(response, taken!.challenge, passkey);
  assertCounterAdvances(passkey.counter, counter);
  if (!(await deps.store.advancePasskeyCounter(passkey.id, passkey.counter, counter))) throw stepUpRefused('the passkey was used at the same moment elsewhere; try again');
  return passkey.id;
}

/** Opens a challenge for `use` answerable by one of `human`'s passkeys; STEP_UP_REQUIRED when they have none. */
export async function assertionOptions(deps: Deps, human: Principal, use: ChallengeUse): Promise<Readonly<Record<string, unknown>>> {
  humanOnly(human);
  const mine = await deps.store.passkeysOf(human.id);
  if (mine.length === 0) throw stepUpRefused('you have no passkey yet: register one at /account/passkeys');
  const { challenge, options } = await ceremonyOf(deps).authenticationOptions(mine);
  const now = deps.clock.now();
  await deps.store.insertChallenge(issueChallenge(challenge, use, now), now);
  return options;
}

/** The request as `reviewer` may approve it with a step-up, or the error that says why not. */
async function approvable(deps: Deps, reviewer: Principal, requestId: string): Promise<RequestRecord> {
  humanOnly(reviewer);
  const r = await getRequest(deps, reviewer, requestId);
  if (r.status !== 'pending') throw new CountersignError('REQUEST_ALREADY_DECIDED', `request ${r.id} is ${r.status}`, { status: r.status });
  if (!requiresStepUp(r)) throw new CountersignError('INVALID_REQUEST', `request ${r.id} needs no passkey confirmation; approve it as usual`);
  assertMayReview(r, reviewer, deps.identity);
  return r;
}

/**
 * Options for `navigator.credentials.get` to approve `requestId` at `digest`.
 *
 * @example
 * const options = await stepUpOptions(deps, alice, 'req_…', 'sha256:…');
 */
export async function stepUpOptions(deps: Deps, reviewer: Principal, requestId: string, digest: string): Promise<Readonly<Record<string, unknown>>> {
  const r = await approvable(deps, reviewer, requestId);
  if (digest !== r.digest) throw new CountersignError('DIGEST_MISMATCH', 'the request does not have the digest you reviewed');
  return assertionOptions(deps, reviewer, { human: reviewer.id, purpose: 'approve', requestId: r.id, digest: r.digest });
}

export interface StepUpApproval {
  readonly reviewer: Principal;
  readonly requestId: string;
  readonly digest: string;
  readonly comment: string;
  /** The authenticator's answer (AuthenticationResponseJSON) as the browser sent it. */
  readonly response: unknown;
  /** A scoped grant offered with this approval: its uses then need no passkey (the grant was given with one). */
  readonly grant?: GrantOffer;
}

/**
 * Verifies the passkey confirmation, then records the approval through the review use case with its evidence.
 *
 * @example
 * await approveWithPasskey(deps, { reviewer: alice, requestId, digest, comment: '', response });
 */
export async function approveWithPasskey(deps: Deps, cmd: StepUpApproval): Promise<RequestRecord> {
  humanOnly(cmd.reviewer);
  const credentialId = await verifyAssertion(deps, cmd.reviewer, { human: cmd.reviewer.id, purpose: 'approve', requestId: cmd.requestId, digest: cmd.digest }, cmd.response);
  const stepUp = mintStepUp({ method: 'webauthn', purpose: 'approve', credentialId, human: cmd.reviewer.id, requestId: cmd.requestId, digest: cmd.digest });
  return review(deps, { reviewer: cmd.reviewer, requestId: cmd.requestId, verdict: 'approve', comment: cmd.comment, digest: cmd.digest, stepUp, ...(cmd.grant ? { grant: cmd.grant } : {}) });
}
