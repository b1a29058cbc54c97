/**
 * Why a credential or an inbound channel call was refused: one registry of
 * stable reasons, as the error codes are one registry (errors.ts). A reason
 * names the check that failed, never the credential; it is the `reason` of an
 * UNAUTHENTICATED answer, and of the `auth.failed` and `channel.refused`
 * audit events. docs/errors.md lists each with this sentence (a test keeps
 * them in step).
 */
import type { ErrorCode } from './errors.ts';

export const REFUSAL_REASONS = {
  'key.malformed': 'The API key is empty or longer than any key the gateway issues.',
  'key.unknown': 'The API key matches no configured principal.',
  'key.is_token': 'A token was given where the console sign-in takes an API key.',
  'token.malformed': 'The token is not a well-formed JWT (or is longer than the gateway reads).',
  'token.issuer_unknown': 'The token names an issuer (`iss`) that is not configured.',
  'token.alg_not_allowed': "The token's signature algorithm is not one its issuer allows.",
  'token.kid_invalid': "The token's key id (`kid`) is not a well-formed key id.",
  'token.type_invalid': "The token says it is no credential: its `typ` header is not `JWT` or an access token's (`at+jwt`) — a logout token, a security event, a DPoP proof — or it carries an `events` claim (RFC 8417).",
  'token.kid_unknown': "No key of the issuer's key set matches the token's key id.",
  'token.signature_invalid': "The token's signature does not verify.",
  'token.expired': 'The token has expired.',
  'token.not_yet_valid': 'The token is not valid yet (`nbf`).',
  'token.issued_in_future': 'The token says it was issued in the future (`iat`).',
  'token.audience_invalid': 'The token is not for this gateway (`aud`).',
  'token.issuer_invalid': 'The token\'s issuer does not match the configured one.',
  'token.claim_missing': 'The token lacks a claim the issuer\'s configuration requires.',
  'token.email_unverified': 'The token names its principal by an email address the issuer has not verified.',
  'token.claims_invalid': "The token's claims fail a check (for example a human acting for someone, or an agent acting for itself).",
  'token.jwks_unavailable': "The issuer's key set could not be fetched or read.",
  'token.not_a_person': "An issuer of humans' tokens issued this one to a client application, not a person (client credentials: its subject is the client's id, or it is marked as an app's): no program is a human.",
  'token.client_not_allowed': "The token was issued through an application (`client_id`, `cid`, `azp` or `appid`) that its issuer's `clients:` does not list (by default, at the sign-in provider with `identity.login.cli`: the device grant's client when `cli.deviceCode` is true, else none), or names none: another application at the provider cannot hand a person's token to its owner.",
  'token.claim_not_allowed': "The token lacks a claim its issuer's `claims:` pins, or carries another value: a tenant of a shared issuer (gitlab.com, Buildkite, HCP Terraform) other than yours.",
  'principal.kind_mismatch': 'The credential names a principal configured as the other kind (agent or human).',
  'principal.issuer_not_allowed': 'The token names a configured principal (by id, or by verified email) that its issuer may not name: another issuer is bound to it (`issuers:`), or several issuers of its kind are configured and it lists none.',
  'principal.id_confusable': "The token names its agent, or its human without a verified email, by an id no principal configures that reads as a configured principal's (another case, compatibility characters) or holds invisible characters: it would be one more principal under that name.",
  'principal.email_invalid': 'The human\'s verified email cannot be compared safely (a quoted local part, lookalike or invisible characters, a malformed domain): it would name one more person.',
  'principal.unlinked': "The human's token or sign-in carries no verified email and names no configured principal, where humans also come from another issuer, the console's sign-in (even at the same provider) or the configuration: nothing links it to the same person's other accounts, so it would be one more reviewer.",
  'github.repository_not_allowed': 'The GitHub Actions token comes from a repository the issuer does not allow.',
  'github.workflow_not_allowed': 'The GitHub Actions token comes from a workflow the issuer does not allow.',
  'okta.id_token': 'An Okta ID token was given where an access token is required.',
  'okta.not_access_token': 'The Okta token is not an access token (it lacks `scp` or `cid`).',
  'login.claim_missing': 'The identity provider\'s ID token lacks the claim that names the human.',
  'login.email_unverified': 'The identity provider has not verified the email address that names the human.',
  'principal.agent': "An agent's API key was given to the console sign-in, which is for humans.",
  'login.issued_in_future': "The identity provider's ID token says it was issued in the future (`iat`).",
  'login.flow_invalid': 'The single sign-on callback came without a valid sign-in flow of this browser (missing, expired or tampered state).',
  'login.flow_used': 'The single sign-on callback came with a sign-in flow that already signed someone in (its kept cookie brought back with a fresh code from the provider), on this replica or another: a flow signs in once.',
  'login.callback_invalid': "The identity provider's answer to the sign-in did not verify (state, nonce, code or ID token).",
  'login.code_invalid': 'The one-time code `countersign login` brought to the gateway is unknown, already used, expired, or for another loopback address.',
  'login.verifier_invalid': 'The one-time code of `countersign login` came without the PKCE verifier of the sign-in that asked for it, or with another one (the code is spent).',
  'session.invalid': 'A `countersign login` credential (`csl_…`) matches no live sign-in: unknown, expired, signed out, its human is no longer who it says, or the CLI’s sign-in is no longer offered (`identity.login.cli` removed).',
  'body.too_large': 'The channel call\'s body is larger than the gateway reads.',
  'signature.missing': 'The Slack call has no signature or timestamp header.',
  'signature.version': 'The Slack signature is not of a version the gateway checks (v0).',
  'signature.mismatch': 'The Slack signature does not match the body under the signing secret.',
  'timestamp.malformed': 'The Slack timestamp header is not a number of seconds.',
  'timestamp.outside_window': 'The Slack call is older (or newer) than the five minutes the gateway allows.',
  'team.mismatch': 'The Slack call comes from another workspace than the configured one.',
  'app.mismatch': 'The Slack call comes from another Slack app than the configured one.',
  'teams.token_missing': 'The Teams call has no Bot Framework bearer token.',
  'teams.token_malformed': 'The Bot Framework token is not a well-formed JWT.',
  'teams.alg_not_allowed': 'The Bot Framework token is not signed with RS256.',
  'teams.kid_invalid': "The Bot Framework token's key id is not a well-formed key id.",
  'teams.kid_unknown': "No Bot Framework signing key matches the token's key id.",
  'teams.keys_unavailable': 'The Bot Framework signing keys could not be fetched.',
  'teams.signature_invalid': "The Bot Framework token's signature does not verify.",
  'teams.expired': 'The Bot Framework token has expired.',
  'teams.not_yet_valid': 'The Bot Framework token is not valid yet.',
  'teams.audience_invalid': 'The Bot Framework token is not for the configured bot.',
  'teams.issuer_invalid': 'The Bot Framework token is not from Bot Framework.',
  'teams.claims_invalid': "The Bot Framework token's claims fail a check.",
  'teams.key_not_endorsed': 'The signing key is not endorsed for the Teams channel.',
  'teams.service_url_mismatch': "The activity's service URL is not the one the token vouches for.",
  'teams.activity_invalid': 'The activity is not a well-formed Bot Framework activity.',
  'teams.channel_invalid': 'The activity does not come from the Teams channel.',
  'teams.tenant_mismatch': 'The activity comes from another tenant than the configured one.',
  'teams.invoke_invalid': 'The card action is not one the gateway offers.',
  'card.elsewhere': "The chat click names a request whose card is not the message clicked (or comes from no card): it decides nothing.",
  'user.unknown_email': 'The chat user\'s email address is no configured human\'s.',
  'user.no_email': 'The chat user\'s email address could not be read, so the human is unknown.',
} as const;

/**
 * A registered reason, or `review.<code>`: a chat click that reached the
 * review and was refused there (the error code, lower-cased).
 */
export type RefusalReason = keyof typeof REFUSAL_REASONS | `review.${Lowercase<ErrorCode>}`;

/** Whether a string read back from an error's details is a registered reason (anything else is recorded as a generic one). */
export function isRefusalReason(reason: string): reason is keyof typeof REFUSAL_REASONS {
  return Object.hasOwn(REFUSAL_REASONS, reason);
}
