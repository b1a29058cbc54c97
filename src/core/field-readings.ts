/**
 * A query or form field name as upstream frameworks read it: PHP ends a name
 * at a NUL, drops leading spaces, reads ` `, `.` and an unbalanced `[` as `_`
 * and `a[b]` as field `a`; Rack 2 drops brackets before a name and closing
 * ones after it (`[_method]` is `_method`). Policy sees each parameter under
 * its name as written and under every name a framework reads it as (queryAsRead),
 * so a rule on `user_id` judges `user.id=2` too, which PHP reads as `user_id`.
 */
import { foldKey } from './json-keys.ts';

/**
 * The name up to its first NUL: PHP reads a field name as a C string (main/php_variables.c, `var_len =
 * strlen(var_name)`), so `_method%00x` is `_method` to $_GET and $_POST, and to the method override read from them.
 */
export function cName(name: string): string {
  const nul = name.indexOf('\u0000');
  return nul === -1 ? name : name.slice(0, nul);
}

/** A query or body field name as frameworks read it: any case; PHP ends it at a NUL, drops leading spaces, reads ` `, `.` and `[` as `_`, and `a[b]` as field `a`. */
export function fieldKey(name: string): string {
  const k = cName(name).trimStart().toLowerCase();
  const bracket = k.indexOf('[');
  return (bracket > 0 && k.indexOf(']', bracket) !== -1 ? k.slice(0, bracket) : k).replace(/[ .[]/g, '_');
}

// Rack 2's Rack::QueryParser#normalize_params (Rails 7.0 and before): brackets before the field and closing ones after it are dropped.
export const RACK_NAME = /^[[\]]*([^[\]]+)\]*/;

/**
 * Every field a name may be to some framework, as fieldKey gives them: PHP's reading and Rack 2's.
 *
 * @example
 * fieldKeys('[_method]'); // ['__method]', '_method']
 */
export function fieldKeys(name: string): string[] {
  const rack = RACK_NAME.exec(name)?.[1];
  return rack === undefined ? [fieldKey(name)] : [fieldKey(name), rack.toLowerCase()];
}

/**
 * The query as policy reads it: every parameter under its name as written, and also under each name a framework
 * reads it as (fieldKeys), with the same values, where no parameter is written so (two names read as one field are
 * refused before policy, http/facts.ts). Several names read as one field there (`a[x]`, `a[y]`: PHP's `a`) give it
 * all their values, in order.
 *
 * @example
 * queryAsRead({ 'user.id': ['2'] }); // { 'user.id': ['2'], user_id: ['2'] }
 * queryAsRead({ 'filter[status]': ['open'] }); // { 'filter[status]': ['open'], filter: ['open'] }
 */
export function queryAsRead(query: Readonly<Record<string, readonly string[]>>): Readonly<Record<string, readonly string[]>> {
  const names = Object.keys(query);
  // No name a framework reads otherwise (the usual case): the query as it is, uncopied.
  if (names.every((n) => fieldKeys(n).every((k) => foldKey(k) === foldKey(n)))) return query;
  const written = new Set(names.map(foldKey));
  const out = Object.create(null) as Record<string, readonly string[]>;
  const read = new Map<string, string[]>();
  for (const [name, values] of Object.entries(query)) {
    out[name] = values;
    for (const key of new Set(fieldKeys(name).map(foldKey))) {
      if (written.has(key)) continue;
      const list = read.get(key) ?? [];
      if (!read.has(key)) read.set(key, list);
      list.push(...values);
    }
  }
  for (const [key, values] of read) out[key] = values;
  return out;
}
