/**
 * Who acts: an agent (a workload) or a human. An agent may act for a human,
 * and that human is then treated as a requester for separation of duties.
 */

export type PrincipalKind = 'agent' | 'human';

export interface Principal {
  readonly id: string;
  readonly kind: PrincipalKind;
  /** The human this agent acts for, or null. */
  readonly actsFor: string | null;
  readonly groups: readonly string[];
  /** Configured, or from a token only when its issuer verified it (`email_verified: true`). */
  readonly email: string | null;
  /**
   * For a principal from a token: who vouched for it (the issuer, compared
   * exactly) and the token's claims, which policy sees as `principal.claims`.
   * The claims are not part of the digest: a new token for the same
   * principal is the same requester.
   */
  readonly issuer?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
  /**
   * The groups among `groups` that the token's issuer granted (through its groupMap, or trustGroups), apart from
   * those the configuration gives: a review keeps only these, and looks the configured ones up again when counted.
   */
  readonly tokenGroups?: readonly string[];
  /**
   * A human from a token or signed in through identity.login: the groups the provider named, before any mapping. A
   * console session and a chat click map them again with the groupMap in force (core/human-identity.ts signInGroups),
   * and a recorded approval keeps a token group only while that mapping grants it (core/review.ts currentReviewer), so
   * a mapping taken out of the configuration grants nothing to a sign-in or an approval it granted before.
   */
  readonly providerGroups?: readonly string[];
  /**
   * A human known by a chat account whose groups from the identity provider were remembered at a sign-in (this time)
   * older than identity.login.groupsMaxAge: those groups are left out of `groups` and `tokenGroups` (core/known-human.ts).
   */
  readonly staleSignInAt?: string;
  /** A human from a token or a login: the id its claim named, where the canonical id differs (an agent may name them by it). */
  readonly claimedId?: string;
  /**
   * A human known by a chat click: the account that clicked, as the channel's signature vouches for it
   * (`slack:U0123ABCD`, `teams:<Entra object id>`). One account is one person whatever email it has at each click
   * (core/human-identity.ts identityKeys).
   */
  readonly chatAccount?: string;
  /**
   * A principal that presented a configured API key: that key as apiKeyRefOfHash of its configured hash (core/session.ts),
   * never the key. A request keeps it, so that what a key asked for runs only while the configuration in force still
   * lists that key (core/requester.ts): rotating a leaked key stops its held requests too. Not part of the digest.
   */
  readonly keyRef?: string;
  /** GitHub Actions tokens: the subject's parts, which policy sees as `principal.github`. */
  readonly github?: Readonly<GithubSubject>;
}

/** What a GitHub Actions OIDC token says about its workflow run, numeric ids as strings. */
export interface GithubSubject {
  readonly repository: string;
  readonly repositoryId: string;
  readonly ownerId: string;
  readonly workflowRef: string | null;
  /** From `sub`: `repo:ORG/REPO:environment:NAME`, `…:ref:refs/heads/B`, `…:pull_request`. */
  readonly environment: string | null;
  readonly ref: string | null;
  readonly pullRequest: boolean;
  readonly sub: string;
}

/**
 * Who vouched for a principal from a token or a login, as the audit log
 * keeps it: the issuer and the subject, one person's canonical identity.
 */
export function canonicalIdentity(p: Principal): { issuer: string; subject: string } | null {
  const sub = p.claims?.['sub'];
  return p.issuer !== undefined && typeof sub === 'string' ? { issuer: p.issuer, subject: sub } : null;
}

/** The fields of a principal that policy sees and the digest binds. */
export function principalView(p: Principal): { id: string; kind: PrincipalKind; actsFor: string | null; groups: string[] } {
  return { id: p.id, kind: p.kind, actsFor: p.actsFor, groups: [...p.groups] };
}

/**
 * Whether a principal is one by its id alone, whatever credential names it: a human (one person on every issuer), or
 * an id the configuration names (`configured`, its entry there) as this kind. Otherwise it is only what its token's
 * issuer says, and the same id from another issuer is another workload (core/visibility.ts samePrincipal): what is
 * kept or counted per principal (idempotency keys, open waits, wire sessions) keeps it apart by kind and issuer too.
 *
 * @example
 * knownById(deployBot, deployBot);        // true
 * knownById(workerOfIssuerA, undefined);  // false
 */
export function knownById(p: Principal, configured: Principal | undefined): boolean {
  return p.kind === 'human' || configured?.kind === p.kind;
}
