/**
 * The prepared statements and portals one wire session may hold in the gateway: the session keeps each statement's
 * text and each portal's values to judge a Bind and Execute by, and a portal stays known after the upstream dropped it
 * at the end of its transaction. A client preparing or binding under new name after new name (each text or set of
 * values up to an action's 1,000,000 characters) would grow the gateway's one heap, shared by every session and the
 * REST API, without bound. PostgreSQL sets no such limit, but its backend's memory is the client's own; this heap is
 * everyone's. Bounded by count and by characters, well above what drivers' statement caches keep (pgx 512, JDBC 256).
 */

/** Prepared statements, and apart from them portals, one session may hold at once. */
export const MAX_HELD_NAMES = 2000;
/** Characters of prepared text, and apart from them of portals' values, one session may hold at once. */
export const MAX_HELD_CHARS = 8_000_000;

/**
 * Whether setting `name` to something of `chars` characters would take the session's `held` past its bound (then
 * 53400, nothing prepared or bound). What it replaces under the same name (the unnamed statement, say) does not count.
 *
 * @example
 * if (heldFull(statements, m.name, m.sql.length, (s) => s.sql.length)) fail('53400', PREPARED_FULL);
 */
export function heldFull<T>(held: ReadonlyMap<string, T>, name: string, chars: number, charsOf: (value: T) => number): boolean {
  let total = chars;
  let count = 1;
  for (const [key, value] of held) {
    if (key === name) continue;
    total += charsOf(value);
    count += 1;
  }
  return count > MAX_HELD_NAMES || total > MAX_HELD_CHARS;
}

const FULL = (what: string, close: string) =>
  `a session may hold at most ${MAX_HELD_NAMES} ${what} of ${MAX_HELD_CHARS} characters in all; close (${close}) one first; nothing was done`;
export const PREPARED_FULL = FULL('prepared statements', 'DEALLOCATE');
export const PORTALS_FULL = FULL('portals', 'CLOSE');
