/**
 * The analysis of a SQL text, remembered for a while. A statement is analysed
 * more than once on its way (its facts for policy when it is submitted, its
 * names for the session check when it runs), and clients send the same texts
 * again and again (prepared statements, an ORM's queries): the parse and the
 * walk are a tenth of the CPU of an allowed statement. The analysis is a pure
 * function of the text and the connection's read-only functions, and what is
 * remembered is frozen, so no caller can change what another is given.
 */
import { analyseSql, containsNode, type SqlFactsOptions, type SqlNameUses } from './facts.ts';
import type { SqlFacts } from '../../../core/facts.ts';
import { OFFLOAD_MIN_CHARS, sqlOffload } from './analysis-offload.ts';

export type Analysis = { readonly facts: SqlFacts; readonly names: SqlNameUses };

/** Texts remembered per set of read-only functions; past that the oldest goes. */
const MAX_ENTRIES = 256;
/** Longer texts are analysed each time: a few of them would hold megabytes. */
const MAX_SQL_CHARS = 8_192;

const NONE: readonly string[] = [];
/** The last long texts analysed on the worker, for the calls that follow on this thread (facts after prepareFacts, the run after the decision). */
const MAX_LONG_ENTRIES = 4;
const long: { sql: string; list: readonly string[]; analysis: Analysis }[] = [];
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
  const list = options.readOnlyFunctions?.length ? options.readOnlyFunctions : NONE;
  if (sql.length > MAX_SQL_CHARS) return recentLong(sql, list) ?? analyseSql(sql, options);
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

/** Whether a long text's analysis is at hand (analyseSqlCached then answers it from memory). */
export function isLongAnalysed(sql: string, options: SqlFactsOptions = {}): boolean {
  return recentLong(sql, options.readOnlyFunctions?.length ? options.readOnlyFunctions : NONE) !== undefined;
}

function recentLong(sql: string, list: readonly string[]): Analysis | undefined {
  return long.find((e) => e.list === list && e.sql.length === sql.length && e.sql === sql)?.analysis;
}

/**
 * analyseSqlCached, with a text longer than OFFLOAD_MIN_CHARS analysed on the worker thread (analysis-offload.ts)
 * and remembered for the few calls that follow. Rejects as analyseSql throws; a text not analysed within the time
 * limit is refused with INPUT_UNPARSEABLE, one past its owner's share of the thread with TOO_MANY_ANALYSES.
 *
 * @example
 * const { facts } = await analyseSqlAsync(sql, { readOnlyFunctions });
 */
export async function analyseSqlAsync(sql: string, options: SqlFactsOptions = {}, owner?: string): Promise<Analysis> {
  if (sql.length <= OFFLOAD_MIN_CHARS) return analyseSqlCached(sql, options);
  const list = options.readOnlyFunctions?.length ? options.readOnlyFunctions : NONE;
  const known = recentLong(sql, list);
  if (known) return known;
  const analysis = deepFreeze((await sqlOffload.run({ op: 'analyse', sql, readOnlyFunctions: list }, owner)) as Analysis);
  if (long.length >= MAX_LONG_ENTRIES) long.shift();
  long.push({ sql, list, analysis });
  return analysis;
}

/**
 * containsNode (facts.ts), a long text searched on the worker thread, in `owner`'s share of it (analysis-offload.ts).
 *
 * @example
 * if (/execute/i.test(sql) && (await containsNodeAsync(sql, 'ExecuteStmt'))) refuse();
 */
export async function containsNodeAsync(sql: string, node: string, owner?: string): Promise<boolean> {
  if (sql.length <= OFFLOAD_MIN_CHARS) return containsNode(sql, node);
  return (await sqlOffload.run({ op: 'contains', sql, node }, owner)) === true;
}
