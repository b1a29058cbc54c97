/**
 * Whether the prepared statements of an upstream session still hold what the
 * gateway knows them by. SQL that runs SQL of its own (a DO block, a
 * function, a trigger) can DEALLOCATE and PREPARE on the session it runs in,
 * unseen by the facts of the statement that called it: a name a client
 * prepared over the protocol (`BEGIN`, judged as transaction control, made a
 * `DELETE`), or one of the gateway's own (its COMMIT made a DELETE). A
 * statement prepared in SQL shows `from_sql` in `pg_prepared_statements`,
 * and only a protocol Parse, which the gateway follows, makes one without it.
 *
 * So after any statement that is not read-only (a read calls only functions
 * known to run no SQL), the gateway's names are checked before their next
 * use, and a client's named statement before it is bound again: the check,
 * parsed afresh in the same flight, fails when a name of the gateway's is
 * held by a statement from SQL, or the client's name does not hold, from a
 * Parse, the text the gateway judges.
 */
import type { WirePart } from '../../../core/ports.ts';

/** Fails (22P02) when a name of the gateway's is held by a statement prepared in SQL. */
const OWN_INTACT = `NOT EXISTS (SELECT FROM pg_catalog.pg_prepared_statement() p
      WHERE p.from_sql AND pg_catalog.starts_with(p.name::pg_catalog.text, 'countersign_'))`;
// The failing branch is not a constant, which the planner would fold, and fail, whatever the case.
const CHANGED = "pg_catalog.concat('prepared statements were changed behind the gateway: '";

/**
 * $1 the client's statement name, $2 the text the gateway judges it by.
 * Fails (22P02) unless all is as the gateway knows it. It reads the function
 * behind the pg_prepared_statements view: the same rows, without the view to
 * expand each time the check is parsed.
 */
export const CHECK_SQL = `SELECT CASE WHEN ${OWN_INTACT}
    AND EXISTS (SELECT FROM pg_catalog.pg_prepared_statement() p
      WHERE p.name::pg_catalog.text OPERATOR(pg_catalog.=) $1::pg_catalog.text AND NOT p.from_sql
        AND p.statement OPERATOR(pg_catalog.=) $2::pg_catalog.text)
  THEN 1 ELSE ${CHANGED}, $1::pg_catalog.text)::pg_catalog.int4 END`;

/** The check with no client statement to look at (the gateway's names only): half the query to parse, as it is every time. */
export const CHECK_OWN_SQL = `SELECT CASE WHEN ${OWN_INTACT} THEN 1 ELSE ${CHANGED}, NULL::pg_catalog.text)::pg_catalog.int4 END`;

/**
 * The check as one of the gateway's steps: `countersign_check` (a name no
 * client may Parse or Close), parsed afresh each time it runs, since what
 * the name held may have been changed too. `[null, null]`: the gateway's names only.
 */
export function checkStep(values: [string | null, string | null]): { key: string; values: (string | null)[]; parse: { text: string; types: readonly number[] } } {
  if (values[0] === null) return { key: 'check', values: [], parse: { text: CHECK_OWN_SQL, types: [] } };
  return { key: 'check', values, parse: { text: CHECK_SQL, types: [25, 25] } };
}

/** What the client is told when the check fails; its session is then closed. */
export const CHECK_FAILED =
  "a prepared statement of this session no longer holds what the gateway judged it by (SQL run by a function or DO block prepared it again): nothing ran, and the session is closed";

/**
 * @example
 * const watch = new PreparedWatch();
 * watch.wrote();                                   // after a DO block ran
 * watch.needed(parts, 'BEGIN', true);              // ['tx', 'BEGIN']: check before binding tx again
 */
export class PreparedWatch {
  /** A statement that is not read-only ran since the last check passed. */
  private suspect = false;
  /** Client statements (name and text) found intact since then. */
  private readonly verified = new Set<string>();

  /** After a statement that is not read-only was sent upstream. */
  wrote(): void {
    this.suspect = true;
    this.verified.clear();
  }

  /**
   * After code of unknown effect ran (the input of a Parse's literals) and the gateway's own statements were checked
   * in the same flight, after it: the client's named statements are checked again before their next Bind.
   */
  ranCode(): void {
    this.verified.clear();
  }

  /** Whether the gateway's own statements are to be checked before their next use. */
  get pending(): boolean {
    return this.suspect;
  }

  /**
   * The check's parameters before the client's `parts` go upstream, or
   * undefined when none is needed. `own`: the gateway's statements are used
   * in the same flight.
   */
  needed(parts: readonly WirePart[], sql: string, own: boolean): [string | null, string | null] | undefined {
    const name = boundStatement(parts);
    if (name !== undefined && !this.verified.has(key(name, sql))) return [name, sql];
    return own && this.suspect ? [null, null] : undefined;
  }

  /** The check passed with these parameters. */
  passed(values: readonly (string | null)[]): void {
    this.suspect = false;
    const [name, sql] = values;
    if (name != null && sql != null) this.verified.add(key(name, sql));
  }
}

function key(name: string, sql: string): string {
  return `${name}\0${sql}`;
}

/**
 * The named statement a Bind among `parts` binds, unless a Parse of it comes
 * before (then the server holds what the gateway saw parsed). The unnamed
 * statement needs no check: SQL cannot PREPARE it.
 */
export function boundStatement(parts: readonly WirePart[]): string | undefined {
  const at = parts.findIndex((p) => p.kind === 'bind');
  const name = parts[at]?.statement;
  if (!name) return undefined;
  return parts.slice(0, at).some((p) => p.kind === 'parse' && p.statement === name) ? undefined : name;
}
