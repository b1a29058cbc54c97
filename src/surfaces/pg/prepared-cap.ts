/**
 * The prepared statements one wire session may hold in the gateway: the session keeps each one's text to judge a
 * Bind and Execute by, so a client preparing statement after statement under new names (each up to an action's
 * 1,000,000 characters) would grow the gateway's one heap, shared by every session and the REST API, without bound.
 * PostgreSQL sets no such limit, but its backend's memory is the client's own; this heap is everyone's. Bounded by
 * count and by characters, well above what drivers' statement caches keep (pgx 512, JDBC 256).
 */

/** Prepared statements one session may hold at once. */
export const MAX_PREPARED_STATEMENTS = 2000;
/** Characters of prepared text one session may hold at once (as much as eight statements at an action's bound). */
export const MAX_PREPARED_CHARS = 8_000_000;

/**
 * Whether a Parse of `sql` under `name` would take the session past its bound (then 53400 PREPARED_FULL, nothing prepared).
 * The statement it replaces under the same name (the unnamed one, say) does not count.
 *
 * @example
 * if (preparedFull(statements, m.name, m.sql)) fail('53400', PREPARED_FULL);
 */
export function preparedFull(statements: ReadonlyMap<string, { readonly sql: string }>, name: string, sql: string): boolean {
  let chars = sql.length;
  let count = 1;
  for (const [held, s] of statements) {
    if (held === name) continue;
    chars += s.sql.length;
    count += 1;
  }
  return count > MAX_PREPARED_STATEMENTS || chars > MAX_PREPARED_CHARS;
}

export const PREPARED_FULL = `a session may hold at most ${MAX_PREPARED_STATEMENTS} prepared statements of ${MAX_PREPARED_CHARS} characters in all; close (DEALLOCATE) one first; nothing was prepared`;
