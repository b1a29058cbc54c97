/**
 * Why a token was refused, as a stable reason for the `auth.failed` audit
 * event and the logs. Reasons name the check, never the token.
 */
import { errors } from 'jose';

export type TokenReason =
  | 'token.malformed'
  | 'token.issuer_unknown'
  | 'token.alg_not_allowed'
  | 'token.kid_invalid'
  | 'token.type_invalid'
  | 'token.kid_unknown'
  | 'token.signature_invalid'
  | 'token.expired'
  | 'token.not_yet_valid'
  | 'token.issued_in_future'
  | 'token.audience_invalid'
  | 'token.issuer_invalid'
  | 'token.claim_missing'
  | 'token.email_unverified'
  | 'token.claims_invalid'
  | 'token.not_a_person'
  | 'token.client_not_allowed'
  | 'token.claim_not_allowed'
  | 'token.jwks_unavailable'
  | 'principal.kind_mismatch'
  | 'principal.email_invalid'
  | 'principal.unlinked'
  | 'principal.issuer_not_allowed'
  | 'principal.id_confusable'
  | 'github.repository_not_allowed'
  | 'github.workflow_not_allowed'
  | 'okta.id_token'
  | 'okta.not_access_token';

/** The reason for an error jose threw while verifying. */
export function joseReason(e: unknown): TokenReason {
  if (e instanceof errors.JWTExpired) return 'token.expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return 'token.not_yet_valid';
    if (e.claim === 'iat') return 'token.issued_in_future';
    if (e.claim === 'aud') return 'token.audience_invalid';
    if (e.claim === 'iss') return 'token.issuer_invalid';
    if (e.reason === 'missing') return 'token.claim_missing';
    return 'token.claims_invalid';
  }
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) return 'token.alg_not_allowed';
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) return 'token.kid_unknown';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'token.signature_invalid';
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return 'token.jwks_unavailable';
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return 'token.malformed';
  // A network failure fetching the JWKS (fetch's TypeError) or anything unforeseen: refuse, say where.
  return 'token.jwks_unavailable';
}
