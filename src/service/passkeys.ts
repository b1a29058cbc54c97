/**
 * A human's passkeys: list, register, remove. Against a stolen console
 * session: a human's first passkey needs a sign-in of the last ten minutes,
 * and every further one needs a confirmation with a passkey they already
 * hold. `passkey.registered` and `passkey.removed` are audited with the
 * credential id and label, never key material.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import { assertRecentLogin, challengeOfClientData, checkChallenge, issueChallenge, stepUpRefused, type Passkey } from '../core/step-up.ts';
import type { Deps } from './deps.ts';
import { assertionOptions, ceremonyOf, verifyAssertion } from './step-up.ts';
import { withIdentity } from './views.ts';

/** The longest label kept. */
export const MAX_LABEL = 100;

export interface Registrant {
  readonly human: Principal;
  /** When the console session asking was started (the sign-in). */
  readonly sessionCreatedAt: string;
}

function humanOnly(who: Principal): void {
  if (who.kind !== 'human') throw new CountersignError('AGENT_CANNOT_SIGN_IN', `${who.id} is an agent; only humans hold passkeys here`);
}

export async function listPasskeys(deps: Deps, human: Principal): Promise<Passkey[]> {
  humanOnly(human);
  return deps.store.passkeysOf(human.id);
}

/**
 * Options to register a passkey and, when the human has one already, options to confirm with it first.
 *
 * @example
 * const { registration, confirm } = await passkeyRegistrationOptions(deps, { human: alice, sessionCreatedAt });
 */
export async function passkeyRegistrationOptions(deps: Deps, who: Registrant): Promise<{ registration: Readonly<Record<string, unknown>>; confirm: Readonly<Record<string, unknown>> | null }> {
  humanOnly(who.human);
  const mine = await deps.store.passkeysOf(who.human.id);
  const now = deps.clock.now();
  if (mine.length === 0) assertRecentLogin(who.sessionCreatedAt, now);
  const { challenge, options } = await ceremonyOf(deps).registrationOptions(who.human.id, mine);
  await deps.store.insertChallenge(issueChallenge(challenge, { human: who.human.id, purpose: 'register' }, now), now);
  const confirm = mine.length === 0 ? null : await assertionOptions(deps, who.human, { human: who.human.id, purpose: 'confirm-register' });
  return { registration: options, confirm };
}

export interface Registration extends Registrant {
  readonly label: string;
  /** The authenticator's new credential (RegistrationResponseJSON). */
  readonly response: unknown;
  /** An assertion by a passkey the human holds already (required when they hold one). */
  readonly confirmation?: unknown;
}

/**
 * Verifies and stores a new passkey.
 *
 * @example
 * await registerPasskey(deps, { human: alice, sessionCreatedAt, label: 'laptop', response });
 */
export async function registerPasskey(deps: Deps, reg: Registration): Promise<Passkey> {
  humanOnly(reg.human);
  const label = reg.label.trim().slice(0, MAX_LABEL) || 'passkey';
  const clientData = typeof reg.response === 'object' && reg.response !== null ? (reg.response as { response?: { clientDataJSON?: unknown } }).response?.clientDataJSON : undefined;
  const challenge = challengeOfClientData(clientData);
  const taken = checkChallenge(challenge === undefined ? undefined : await deps.store.takeChallenge(challenge), { human: reg.human.id, purpose: 'register' }, deps.clock.now());
  const mine = await deps.store.passkeysOf(reg.human.id);
  if (mine.length === 0) assertRecentLogin(reg.sessionCreatedAt, deps.clock.now());
  else if (reg.confirmation === undefined) throw stepUpRefused('you hold a passkey already: confirm with it to register another');
  else await verifyAssertion(deps, reg.human, { human: reg.human.id, purpose: 'confirm-register' }, reg.confirmation);
  const credential = await ceremonyOf(deps).verifyRegistration(reg.response, taken.challenge);
  const at = deps.clock.now().toISOString();
  const passkey: Passkey = { id: credential.id, human: reg.human.id, publicKey: credential.publicKey, counter: credential.counter, transports: [...credential.transports], label, createdAt: at };
  try {
    await deps.store.insertPasskey(passkey, [
      { type: 'passkey.registered', time: at, requestId: null, actor: reg.human.id, data: { human: reg.human.id, ...withIdentity(reg.human), credentialId: passkey.id, label, confirmedWith: mine.length === 0 ? 'recent sign-in' : 'passkey' } },
    ]);
  } catch (e) {
    if (await deps.store.getPasskey(passkey.id)) throw stepUpRefused('this passkey is registered already');
    throw e;
  }
  return passkey;
}

/**
 * Removes one of the human's passkeys; NOT_FOUND when they hold none of that id.
 *
 * @example
 * await removePasskey(deps, alice, 'AbC…');
 */
export async function removePasskey(deps: Deps, human: Principal, id: string): Promise<void> {
  humanOnly(human);
  const at = deps.clock.now().toISOString();
  const removed = await deps.store.deletePasskey(human.id, id, [
    { type: 'passkey.removed', time: at, requestId: null, actor: human.id, data: { human: human.id, ...withIdentity(human), credentialId: id } },
  ]);
  if (!removed) throw new CountersignError('NOT_FOUND', 'you hold no passkey of that id');
}
