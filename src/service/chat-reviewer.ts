/**
 * Chat reviewer: who a chat user is, here. A chat platform vouches only for
 * an email address; that address must belong to a human the gateway already
 * knows — configured with that email, or signed in to the console with it
 * verified by the identity provider — or the click counts for nobody.
 * Addresses compare as core/human-identity.ts says (NFC, case-insensitive,
 * lookalike characters match nobody). One
 * person is thus one principal id on every channel, and "one vote per human"
 * and "never the requester" hold across the console, the CLI and chat.
 * A sign-in counts only through the provider the configuration names now
 * (identity.login.issuer): once it is removed or replaced, a human it
 * vouched for and the configuration does not name is nobody in chat.
 * The groups a sign-in brought count as the groupMap in force maps the
 * provider's groups it kept, and only while it is recent (groupsMaxAge,
 * core/known-human.ts): after that such a human keeps their configured groups
 * alone, and is marked so the review can tell them to sign in again.
 * A click carries the names that sign-in knew them by (the provider's subject,
 * the username its id claim gave), configured human or not: an agent may name
 * the human it acts for by either, and that human must not approve its
 * request from a chat account any more than from the console.
 */
import { canonicalHuman, emailKey } from '../core/human-identity.ts';
import { signInGroups } from '../core/group-mapping.ts';
import { DEFAULT_GROUPS_MAX_AGE_SECONDS, rememberedGroupsCount } from '../core/known-human.ts';
import type { KnownHuman } from '../core/known-human.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';

/**
 * @example
 * const alice = await reviewerByEmail(deps, 'alice@example.com'); // undefined when nobody known has it
 */
export async function reviewerByEmail(deps: Pick<Deps, 'identity' | 'store' | 'clock' | 'groupsMaxAgeSeconds' | 'signInIssuer' | 'signInGroups'>, email: string): Promise<Principal | undefined> {
  const key = emailKey(email);
  if (key === undefined) return undefined;
  const configured = deps.identity.humanByEmail(key);
  const known = await deps.store.knownHumanByEmail(key);
  // Only a record of this human's sign-in that kept the id it was named by: the review is then judged as that sign-in
  // was (issuer binding included). A record of another id under this address names someone else; an older record adds nothing.
  // Nor does one whose issuer the configuration in force no longer lets name them (`issuers:`): those names are no longer
  // theirs, and carrying that issuer would make the review count for no one.
  if (configured) return known?.id === configured.id && typeof known.claimedId === 'string' && stillNames(deps, known, configured.id) ? Object.freeze({ ...configured, ...signInNames(known) }) : configured;
  // Only a sign-in through the provider the configuration signs humans in with now: one removed or replaced vouches for no one.
  if (!known || known.issuer !== deps.signInIssuer) return undefined;
  // A configured id that is an agent never becomes a reviewer through an email, nor does an agent's own address.
  const byId = deps.identity.principal(known.id);
  if ((byId && byId.kind !== 'human') || deps.identity.agentByEmail(key)) return undefined;
  // The provider's groups mapped by the groupMap in force, never as the one at sign-in mapped them; a record that kept
  // none (from before they were kept) vouches for no group, and is told to sign in again as a stale one is.
  const fresh = Array.isArray(known.providerGroups) && rememberedGroupsCount(known, deps.clock.now(), deps.groupsMaxAgeSeconds ?? DEFAULT_GROUPS_MAX_AGE_SECONDS);
  const provided = fresh ? signInGroups(known.providerGroups, deps.signInGroups) : [];
  return Object.freeze({
    id: known.id,
    kind: 'human',
    actsFor: null,
    groups: Object.freeze([...new Set([...(byId?.groups ?? []), ...provided])].sort()),
    email: known.email,
    tokenGroups: Object.freeze([...provided].sort()),
    providerGroups: Object.freeze(fresh ? [...(known.providerGroups ?? [])] : []),
    ...(fresh ? {} : { staleSignInAt: typeof known.seenAt === 'string' ? known.seenAt : 'an unknown time' }),
    ...signInNames(known),
  });
}

/**
 * A configured human named by a credential of the configuration (an API key, a console session it opened), with the
 * names their last sign-in knew them by, as a chat click of theirs carries them: an agent may name the human it acts
 * for by either, and that human must not approve its request with a key any more than from chat. Anyone else, or a
 * human whose credential came from a token (it carries its own names), is returned as given.
 *
 * @example
 * const hank = await withSignInNames(deps, identity.principal('hank')!); // claimedId 'hjones', issuer and subject, once he signed in
 */
export async function withSignInNames(deps: Pick<Deps, 'identity' | 'store'>, p: Principal): Promise<Principal> {
  if (p.kind !== 'human' || p.issuer !== undefined || !p.email) return p;
  const key = emailKey(p.email);
  if (key === undefined || deps.identity.humanByEmail(key)?.id !== p.id) return p;
  const known = await deps.store.knownHumanByEmail(key);
  return known?.id === p.id && typeof known.claimedId === 'string' && stillNames(deps, known, p.id) ? Object.freeze({ ...p, ...signInNames(known) }) : p;
}

/** Whether the sign-in recorded would still resolve to this configured human, its issuer allowed to name them. */
function stillNames(deps: Pick<Deps, 'identity'>, known: KnownHuman, id: string): boolean {
  if (!known.issuer || typeof known.claimedId !== 'string') return true;
  const now = canonicalHuman({ id: known.claimedId, verifiedEmail: known.email }, deps.identity, known.issuer);
  return now.ok && now.id === id;
}

/** The names a sign-in knew a human by, as a principal carries them: the provider's subject and the id its claim gave. */
function signInNames(known: KnownHuman): Pick<Principal, 'claimedId' | 'issuer' | 'claims'> {
  return {
    ...(typeof known.claimedId === 'string' && known.claimedId !== known.id ? { claimedId: known.claimedId } : {}),
    ...(known.issuer && known.subject ? { issuer: known.issuer, claims: Object.freeze({ sub: known.subject, email: known.email }) } : {}),
  };
}

/** Records a human who signed in with a verified email, so chat users with that email are them. */
export async function rememberSignedInHuman(deps: Pick<Deps, 'store' | 'clock'>, human: Principal): Promise<void> {
  const key = human.kind === 'human' && human.email ? emailKey(human.email) : undefined;
  if (key === undefined) return;
  const sub = human.claims?.['sub'];
  await deps.store.rememberHuman({
    id: human.id,
    email: key,
    // Only what the provider granted: configured groups are looked up when the chat user reviews, never remembered.
    groups: [...(human.tokenGroups ?? [])],
    // What the provider named, mapped again at each click with the groupMap in force.
    providerGroups: [...(human.providerGroups ?? [])],
    issuer: human.issuer ?? null,
    subject: typeof sub === 'string' ? sub : null,
    // Kept even when it is the id: a record with it is judged as its sign-in was (see reviewerByEmail).
    claimedId: human.claimedId ?? human.id,
    seenAt: deps.clock.now().toISOString(),
  });
}
