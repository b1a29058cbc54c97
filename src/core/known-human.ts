/**
 * A human the gateway has met: configured with an email, or signed in to the
 * console through OpenID Connect with a verified email. A chat user is
 * matched to one by that email, so a person has one principal id on every
 * channel and the review rules (self-approval, groups, one vote) hold across them.
 *
 * The groups remembered from a sign-in are what the identity provider said
 * then. A chat click carries no fresh word from the provider, so those groups
 * count only while the sign-in is recent (identity.login.groupsMaxAge): someone
 * the provider has since taken out of a group, or offboarded, stops counting
 * as in it once that age has passed, even while their chat account lives on.
 */
import { durationText } from './duration-text.ts';
import { CountersignError } from './errors.ts';

export interface KnownHuman {
  readonly id: string;
  /** Verified by the provider, as emailKey (core/human-identity.ts) gives it. */
  readonly email: string;
  /** The groups the provider's groups mapped to at that sign-in: a record only, never what a click counts. */
  readonly groups: readonly string[];
  /**
   * The groups the provider named at that sign-in, before any mapping: a click counts them as the groupMap in force
   * maps them (core/human-identity.ts signInGroups). Absent from records of sign-ins before they were kept: such a
   * record vouches for no group, as one past the maximum age does not.
   */
  readonly providerGroups?: readonly string[];
  readonly issuer: string | null;
  readonly subject: string | null;
  /**
   * The id the provider's id claim named them by (a username, or the id itself): an agent may name the human it acts
   * for by it. Absent from records of sign-ins before it was kept.
   */
  readonly claimedId?: string | null;
  /** When they last signed in: the time the provider last vouched for `groups`. */
  readonly seenAt: string;
}

/** How long remembered provider groups count by default: a working day and its evening, see README (Chat approvals). */
export const DEFAULT_GROUPS_MAX_AGE_SECONDS = 12 * 3600;
/** The bounds the config accepts for identity.login.groupsMaxAge. */
export const MIN_GROUPS_MAX_AGE_SECONDS = 60;
export const MAX_GROUPS_MAX_AGE_SECONDS = 7 * 86_400;

/**
 * Whether the groups remembered at `human`'s last sign-in still count at `now`. A sign-in time that cannot be read
 * is old (fail closed); one slightly ahead of `now` (another replica's clock) is recent, one far ahead is not.
 *
 * @example
 * rememberedGroupsCount({ seenAt: '2026-01-01T00:00:00Z' }, new Date('2026-01-01T11:00:00Z'), 12 * 3600); // true
 * rememberedGroupsCount({ seenAt: '2026-01-01T00:00:00Z' }, new Date('2026-01-01T13:00:00Z'), 12 * 3600); // false
 */
export function rememberedGroupsCount(human: { readonly seenAt?: unknown }, now: Date, maxAgeSeconds: number): boolean {
  if (typeof human.seenAt !== 'string') return false;
  const at = Date.parse(human.seenAt);
  if (!Number.isFinite(at) || !Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) return false;
  const age = now.getTime() - at;
  return Math.abs(age) <= maxAgeSeconds * 1000;
}

/**
 * The refusal of a review by a human known only through a sign-in too old to vouch for their groups.
 *
 * @example
 * throw identityStale('dana@example.com', '2026-01-01T00:00:00.000Z', 43_200, 'https://cs.example.com/requests/req_1');
 */
export function identityStale(id: string, signedInAt: string, maxAgeSeconds: number, url?: string): CountersignError {
  return new CountersignError(
    'IDENTITY_STALE',
    `${id}'s groups from the identity provider date from their sign-in at ${signedInAt}, more than ${durationText(maxAgeSeconds)} ago, and no longer count; sign in to the console again${url ? ` at ${url}` : ''}, then review again`,
    { signedInAt },
  );
}
