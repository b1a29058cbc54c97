/**
 * A human's passkeys: list, register, remove. Against a stolen console
 * session or API key: a human's first passkey needs a sign-in of the last ten
 * minutes (through the identity provider, under `enrolment: sso`), every
 * further one a confirmation with a passkey they already hold, and removing
 * one a confirmation with one of theirs — or an administrator, for a human who
 * lost every authenticator. `passkey.registered` and `passkey.removed` are
 * audited with the credential id and label, never key material.
 */
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import { assertEnrolmentSignIn, assertRecentLogin, challengeOfClientData, checkChallenge, issueChallenge, passkeyRemoval, stepUpRefused, type Passkey } from '../core/step-up.ts';
import type { Deps } from './deps.ts';
import { assertionOptions, ceremonyOf, verifyAssertion } from './step-up.ts';
import { withIdentity } from './views.ts';

/** The longest label kept. */
export const MAX_LABEL = 100;

export interface Registrant {
  readonly human: Principal;
  /** When the console session asking was started (the sign-in). */
  readonly sessionCreatedAt: string;
  /** How that session was started (`api-key`, `oidc`): under `enrolment: sso`, a first passkey needs `oidc`. */
  readonly sessionMethod: string;
}

/** A first passkey: a recent sign-in, of a kind the enrolment rule accepts. */
function assertMayEnrolFirst(deps: Deps, who: Registrant): void {
  assertRecentLogin(who.sessionCreatedAt, deps.clock.now());
  assertEnrolmentSignIn(deps.passkeyEnrolment ?? 'any-sign-in', who.sessionMethod);
}

function humanOnly(who: Principal): void {
  if (who.kind !== 'human') throw new CountersignError('AGENT_CANNOT_SIGN_IN', `${who.id} is an agent; only humans hold passkeys here`);
}

export async function listPasskeys(deps: Deps, human: Principal): Promise<Passkey[]> {
  humanOnly(human);
  return deps.store.passkeysOf(human.id);
}

/**
 * Another human's passkeys, for an administrator (to remove them); one's own through listPasskeys.
 *
 * @example
 * await passkeysOfHuman(deps, root, 'alice');
 */
export async function passkeysOfHuman(deps: Deps, by: Principal, human: string): Promise<Passkey[]> {
  passkeyRemoval(by, deps.identity.roles(by), human);
  return deps.store.passkeysOf(human);
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
  if (mine.length === 0) assertMayEnrolFirst(deps, who);
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
  if (mine.length === 0) assertMayEnrolFirst(deps, reg);
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
 * Options to confirm removing `id`, one of `human`'s own passkeys, with one of their passkeys (that one or another).
 *
 * @example
 * const options = await passkeyRemovalOptions(deps, alice, 'AbC…');
 */
export async function passkeyRemovalOptions(deps: Deps, human: Principal, id: string): Promise<Readonly<Record<string, unknown>>> {
  humanOnly(human);
  await ownedBy(deps, human.id, id, 'you hold no passkey of that id');
  return assertionOptions(deps, human, { human: human.id, purpose: 'remove-passkey', credentialId: id });
}

async function ownedBy(deps: Deps, human: string, id: string, missing: string): Promise<void> {
  const passkey = await deps.store.getPasskey(id);
  if (!passkey || passkey.human !== human) throw new CountersignError('NOT_FOUND', missing);
}

export interface Removal {
  /** Who removes it: the human themselves, or an administrator for another human. */
  readonly by: Principal;
  /** Whose passkey it is (default: `by`'s own). */
  readonly human?: string;
  /** The credential id. */
  readonly id: string;
  /** For one's own passkey: an assertion by one of one's passkeys answering a `remove-passkey` challenge for `id`. */
  readonly confirmation?: unknown;
}

/**
 * Removes a passkey. One's own needs a confirmation with one of one's passkeys (a stolen console session or API
 * key cannot remove the victim's passkey and enrol the thief's as the "first"); another human's needs the admin
 * role and no passkey (the recovery after losing every authenticator). NOT_FOUND when that human holds no passkey
 * of that id; agents never.
 *
 * @example
 * await removePasskey(deps, { by: alice, id: 'AbC…', confirmation });
 * await removePasskey(deps, { by: root, human: 'alice', id: 'AbC…' });
 */
export async function removePasskey(deps: Deps, cmd: Removal): Promise<void> {
  const human = cmd.human ?? cmd.by.id;
  const how = passkeyRemoval(cmd.by, deps.identity.roles(cmd.by), human);
  await ownedBy(deps, human, cmd.id, how === 'own' ? 'you hold no passkey of that id' : `${human} holds no passkey of that id`);
  let confirmedWith: string | undefined;
  if (how === 'own') {
    if (cmd.confirmation === undefined) throw stepUpRefused('removing a passkey needs a confirmation with one of your passkeys (an administrator can remove them if you lost them all)');
    confirmedWith = await verifyAssertion(deps, cmd.by, { human, purpose: 'remove-passkey', credentialId: cmd.id }, cmd.confirmation);
  }
  const at = deps.clock.now().toISOString();
  const data = { human, ...(how === 'own' ? withIdentity(cmd.by) : {}), credentialId: cmd.id, by: cmd.by.id, reason: how, ...(confirmedWith ? { confirmedWith } : {}) };
  const removed = await deps.store.deletePasskey(human, cmd.id, [{ type: 'passkey.removed', time: at, requestId: null, actor: cmd.by.id, data }]);
  if (!removed) throw new CountersignError('NOT_FOUND', 'that passkey was removed already');
}
