/**
 * Idempotency keys (the IETF httpapi draft "The Idempotency-Key HTTP Header
 * Field"): a submitter names a submission with a key of its choosing, and a
 * retry under the same key gets the request the first one made instead of a
 * second request. A key is scoped to its principal, bound to one action for
 * as long as the request is kept, and stored in a column of its own with a
 * unique index on (principal, key): the store, not a check before the insert,
 * decides which of two racing submissions made the request.
 */
import { sha256Hex } from './digest.ts';
import { CountersignError } from './errors.ts';
import { knownById, type Principal } from './principal.ts';

/** The longest key accepted, in characters (each one byte: keys are visible ASCII). */
export const IDEMPOTENCY_KEY_MAX = 255;

// Visible ASCII, 0x21–0x7E: no space, no control character, nothing outside ASCII.
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The key a header value names. The draft defines the field as a Structured
 * Field String (RFC 8941 §3.3.3), `"8e03978e-…"`; a bare token (`8e03978e-…`),
 * as most APIs take it, is accepted too and names the same key. A value that
 * starts with a double quote is read as a String and must be one. Either way
 * the key is 1–255 visible ASCII characters, else IDEMPOTENCY_KEY_INVALID.
 *
 * @example
 * parseIdempotencyKey('"order-42-ship"'); // 'order-42-ship'
 * parseIdempotencyKey('order-42-ship');   // 'order-42-ship'
 */
export function parseIdempotencyKey(value: string): string {
  return checkIdempotencyKey(value.startsWith('"') ? sfString(value) : value);
}

/**
 * The key itself, checked: 1–255 visible ASCII characters, else IDEMPOTENCY_KEY_INVALID.
 *
 * @example
 * checkIdempotencyKey('a b'); // throws IDEMPOTENCY_KEY_INVALID
 */
export function checkIdempotencyKey(key: string | undefined): string {
  if (key === undefined || key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX || !VISIBLE_ASCII.test(key)) {
    throw new CountersignError(
      'IDEMPOTENCY_KEY_INVALID',
      `Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_MAX} visible ASCII characters (no spaces or control characters), bare or as a quoted string`,
    );
  }
  return key;
}

/** RFC 8941 §4.2.5: the String a whole value is, or undefined (an unclosed quote, a bad escape, text after it). */
function sfString(value: string): string | undefined {
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const next = value[++i];
      if (next !== '"' && next !== '\\') return undefined;
      out += next;
    } else if (c === '"') {
      return i === value.length - 1 ? out : undefined;
    } else {
      out += c;
    }
  }
  return undefined;
}

/**
 * The key as the store keeps it, beside the principal's id. A principal is one
 * whatever credential names it when it is human or configured: its key as sent.
 * An id the configuration does not name is only what its token's issuer says
 * (core/visibility.ts samePrincipal): the same id from another issuer, or of
 * another kind, is another workload, so its keys are kept apart by a suffix no
 * sent key can hold (a space). Else one could squat or probe another's keys:
 * a key the other had used was refused as taken, telling that it was.
 *
 * @example
 * storedIdempotencyKey('restart-1', workerOfIssuerA, undefined); // 'restart-1 agent@3f2a…'
 * storedIdempotencyKey('restart-1', deployBot, deployBot);       // 'restart-1'
 */
export function storedIdempotencyKey(key: string, principal: Principal, configured: Principal | undefined): string {
  if (knownById(principal, configured)) return key;
  return `${key} ${principal.kind}@${sha256Hex(principal.issuer ?? '').slice(0, 32)}`;
}

/**
 * Thrown by a store's insertRequest when the request's principal already has
 * a request under its idempotency key: nothing of the insert was written, and
 * the caller reads the request that holds the key.
 */
export class IdempotencyKeyTaken extends Error {
  constructor(readonly principalId: string) {
    super('this principal already has a request under that idempotency key');
    this.name = 'IdempotencyKeyTaken';
  }
}
