/**
 * The analysis of a SQL text, remembered for a while. A statement is analysed
 * more than once on its way (its facts for policy when it is submitted, its
 * names for the session check when it runs), and clients send the same texts
 * again and again (prepared statements, an ORM's queries): the parse and the
 * walk are a tenth of the CPU of an allowed statement. The analysis is a pure
 * function of the text and the connection's read-only functions, and what is
 * remembered is frozen, so no caller can change what another is given.
 */
import { analyseSql, type SqlFactsOptions, type SqlNameUses } from './facts.ts';
import type { SqlFacts } from '../../../core/facts.ts';

type Analysis = { readonly facts: SqlFacts; readonly names: SqlNameUses };

/** Texts remembered per set of read-only functions; past that the oldest goes. */
const MAX_ENTRIES = 256;
/** Longer texts are analysed each time: a few of them would hold megabytes. */
const MAX_SQL_CHARS = 8_192;

const NONE: readonly string[] = [];
const byOptions = new WeakMap<readonly string[], Map<string, Analysis>>();

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/**
 * analyseSql (facts.ts), answered from memory for a text seen lately. Throws as analyseSql does (an error is not remembered).
 *
 * @example
 * const { facts, names } = analyseSqlCached('SELECT abalance FROM pgbench_accounts WHERE aid = 1', { readOnlyFunctions });
 */
export function analyseSqlCached(sql: string, options: SqlFactsOptions = {}): Analysis {
  if (sql.length > MAX_SQL_CHARS) return analyseSql(sql, options);
  const list = options.readOnlyFunctions?.length ? options.readOnlyFunctions : NONE;
  let memo = byOptions.get(list);
  if (!memo) byOptions.set(list, (memo = new Map()));
  const known = memo.get(sql);
  if (known) {
    // Most recently used last: the oldest is the first to go.
    memo.delete(sql);
    memo.set(sql, known);
    return known;
  }
  const fresh = deepFreeze(analyseSql(sql, { readOnlyFunctions: list }));
  if (memo.size >= MAX_ENTRIES) memo.delete(memo.keys().next().value!);
  memo.set(sql, fresh);
  return fresh;
}
