/**
 * A body policy reads by its fields, and the Content-Type it may go under. Policy reads a JSON object or array, given
 * as a value or as text, by its fields whatever the Content-Type says (core/action.ts), for the readers that parse
 * the bytes without looking (Go's decoder); those that go by the Content-Type (Express's express.json(), Flask's
 * get_json()) parse it only under a JSON one. So such a body goes under a JSON Content-Type or none (then it is
 * declared application/json: connection.ts), and is refused under any other (facts.ts).
 */

/**
 * Whether policy reads the body by its fields: a JSON object or array, given as a value or as text.
 *
 * @example
 * bodyHasJsonFields('{"dryRun":true}'); // true
 * bodyHasJsonFields('dryRun=true'); // false
 */
export function bodyHasJsonFields(body: unknown): boolean {
  if (typeof body !== 'string') return body !== null && typeof body === 'object';
  const first = body.trimStart()[0];
  if (first !== '{' && first !== '[') return false;
  try {
    const value = JSON.parse(body) as unknown;
    return value !== null && typeof value === 'object';
  } catch {
    return false;
  }
}

/**
 * Whether a Content-Type declares JSON: application/json, or a type with the +json suffix (RFC 6839).
 *
 * @example
 * isJsonType('application/vnd.api+json; charset=utf-8'); // true
 * isJsonType('text/plain'); // false
 */
export function isJsonType(contentType: string): boolean {
  return /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/i.test(contentType.split(';')[0]!.trim());
}
