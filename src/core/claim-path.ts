/**
 * Reading a token's claims by dotted path (`act.sub`, `realm_access.roles`),
 * the form the config uses for the claims that name a principal. Pure, so the
 * token verifiers and the login use case read paths the same way.
 */

/**
 * The value at a dotted path of a JWT payload, or undefined. Only own
 * properties of plain objects are followed (never arrays or the prototype).
 *
 * @example
 * claimAt({ realm_access: { roles: ['sre'] } }, 'realm_access.roles'); // ['sre']
 */
export function claimAt(payload: Readonly<Record<string, unknown>>, path: string): unknown {
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * A principal id, a human's id or a group taken from a claim must be a short
 * printable string (no control characters).
 *
 * @example
 * isIdString('alice@example.com'); // true
 */
export function isIdString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[\u0000-\u001f\u007f]/.test(v);
}
