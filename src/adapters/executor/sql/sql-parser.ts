/**
 * The Postgres parser (libpg-query: the server's own grammar compiled to WASM),
 * loaded once on demand: a gateway without a postgres connection never holds
 * its WASM. facts.ts derives the facts from its trees.
 */
import type * as PgQuery from 'libpg-query';

let loading: Promise<void> | undefined;
let loaded = false;
/** The parser's module, imported on first load: a gateway without a postgres connection never holds its WASM. */
let parser: typeof PgQuery | undefined;

/** The loaded parser (after `await loadSqlParser()`). */
export function sqlParser(): typeof PgQuery {
  if (!parser) throw new Error('the SQL parser is not loaded: await loadSqlParser() first');
  return parser;
}

/**
 * Loads the parser's WASM module; call once at start, before deriveSqlFacts.
 * Safe to call again: later calls share the first load.
 *
 * @example
 * await loadSqlParser();
 */
export function loadSqlParser(): Promise<void> {
  loading ??= import('libpg-query')
    .then(async (m) => {
      await m.loadModule();
      parser = m;
      loaded = true;
    })
    .catch((e: unknown) => {
      loading = undefined; // let a later call retry
      throw e;
    });
  return loading;
}

/** Whether loadSqlParser() has finished. */
export function isSqlParserLoaded(): boolean {
  return loaded;
}
