/**
 * A human the gateway has met: configured with an email, or signed in to the
 * console through OpenID Connect with a verified email. A chat user is
 * matched to one by that email, so a person has one principal id on every
 * channel and the review rules (self-approval, groups, one vote) hold across them.
 */
export interface KnownHuman {
  readonly id: string;
  /** Verified by the provider, as emailKey (core/human-identity.ts) gives it. */
  readonly email: string;
  readonly groups: readonly string[];
  readonly issuer: string | null;
  readonly subject: string | null;
  readonly seenAt: string;
}

