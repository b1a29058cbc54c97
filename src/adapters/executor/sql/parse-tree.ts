/**
 * The parser's tree as JSON (libpg-query's parse result), and the one test every walker of it makes.
 *
 * @example
 * isObject({ SelectStmt: {} }); // true
 * isObject([{}]);               // false
 */
export type Json = null | boolean | number | string | readonly Json[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: Json;
}

/** A node or a field map: an object, not an array or null. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
