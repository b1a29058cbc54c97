/**
 * A body policy reads by its fields, and the Content-Type it may go under. Policy reads a JSON object or array, given
 * as a value or as text, by its fields whatever the Content-Type says (core/action.ts), for the readers that parse
 * the bytes without looking (Go's decoder); those that go by the Content-Type (Express's express.json(), Flask's
 * get_json()) parse it only under a JSON one. So such a body goes under a JSON Content-Type or none (then it is
 * declared application/json: connection.ts), and is refused under any other (facts.ts), an empty one too.
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
 * Whether a Content-Type declares JSON: application/json; a type with the +json suffix (RFC 6839) only where the
 * operator declared it (`suffixed`: the connection's own Content-Type). Express's express.json() parses
 * application/json alone by default, so `application/vnd.api+json` chosen by an agent would reach such an app unparsed.
 *
 * @example
 * isJsonType('application/json; charset=utf-8'); // true
 * isJsonType('application/vnd.api+json', true); // true
 * isJsonType('application/vnd.api+json'); // false
 */
export function isJsonType(contentType: string, suffixed = false): boolean {
  const type = contentType.split(';')[0]!.trim();
  return suffixed ? /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/i.test(type) : /^application\/json$/i.test(type);
}
