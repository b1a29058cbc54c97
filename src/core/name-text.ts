/**
 * A derived name (a table, a tool) in a list a reviewer reads on one line.
 * The facts line of a chat card joins its values with ` · ` and a table
 * list with `, `; a quoted SQL identifier may hold both, and words of the
 * line's own (`UPDATE "orders · read-only"` read as a table `orders` and a
 * fact `read-only`). A name that is more than letters, marks, digits, `_`,
 * `$`, `.` and `-` is shown in double quotes, `"` and `\` in it escaped, so
 * whatever it holds reads as part of the name.
 */

const BARE = /^[\p{L}\p{M}\p{N}_$.-]+$/u;

/**
 * @example
 * nameText('public.orders');       // 'public.orders'
 * nameText('orders · read-only');  // '"orders · read-only"'
 */
export function nameText(name: string): string {
  return BARE.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
}
