/**
 * The parser's tree as JSON (libpg-query's parse result), and the tests every walker of it makes.
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

/**
 * Whether a key of a parse-tree object names a node (`SelectStmt`, `A_Expr`: a capital letter first) rather than a
 * field. A test of its first character: the walks run it on every key of every object of every statement's tree
 * (walked with for…in, its own keys in Object.entries' order, without an array of pairs per object).
 *
 * @example
 * isNodeName('RangeVar'); // true
 * isNodeName('relname'); // false
 */
export function isNodeName(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 65 && c <= 90;
}
