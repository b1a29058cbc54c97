/**
 * The checks of a condition at load, beyond its syntax: every path it reads
 * names a declared field (a misspelled `facts.sql.read_only` would otherwise
 * only fail at evaluation, and a failing rule denies — or, under `!` or `||`,
 * quietly never matches), and no construct whose behaviour here would differ
 * from CEL's is used. Each returns problems as text, all of them.
 */
import type { ASTNode } from '@marcbachmann/cel-js';
import { headerName } from '../action.ts';
import { foldKey } from '../json-keys.ts';
import { INTERNAL_PREFIX, nodes } from './environment.ts';
import { conditionPaths } from './paths.ts';
import { re2Problem } from './regex.ts';
import type { VarType } from './types.ts';

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name`, if close enough to be a likely misspelling. */
function closest(name: string, known: readonly string[]): string | null {
  const squash = (s: string) => s.toLowerCase().replace(/_/g, '');
  let best: string | null = null;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const score = squash(k) === squash(name) ? 0 : distance(name, k);
    if (score < bestScore) [best, bestScore] = [k, score];
  }
  return best !== null && bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * Problems with the paths a condition reads (from paths.ts), against the declared variables.
 *
 * @example
 * pathProblems([['facts', 'sql', 'read_only']], { facts: FACTS_TYPE });
 * // ['facts.sql.read_only: no such field; facts.sql has readOnly, … (did you mean readOnly?)']
 */
export function pathProblems(paths: readonly (readonly string[])[], roots: Readonly<Record<string, VarType>>): string[] {
  const problems = new Set<string>();
  for (const path of paths) {
    let type: VarType | undefined = roots[path[0] ?? ''];
    for (let i = 1; type && i < path.length; i++) {
      while (type.kind === 'nullable') type = type.of;
      const segment = path[i]!;
      const at = path.slice(0, i).join('.');
      if (type.kind === 'dyn') break;
      if (type.kind === 'map') {
        type = type.of;
        continue;
      }
      if (type.kind === 'object') {
        const known = Object.keys(type.fields);
        const next: VarType | undefined = Object.hasOwn(type.fields, segment) ? type.fields[segment] : undefined;
        if (!next) {
          const guess = closest(segment, known);
          problems.add(`${at}.${segment}: no such field; ${at} has ${known.join(', ')}${guess ? ` (did you mean ${at}.${guess}?)` : ''}`);
        }
        type = next;
        continue;
      }
      problems.add(`${at}.${segment}: ${at} is a ${type.kind === 'list' ? 'list' : type.cel}, it has no fields`);
      type = undefined;
    }
  }
  return [...problems];
}

const str = (n: unknown): string | null => {
  const node = n as { op?: string; args?: unknown };
  return node?.op === 'value' && typeof node.args === 'string' ? node.args : null;
};

/**
 * The functions and macros of CEL's standard definitions and strings
 * extension. The library has more of its own (`bytes.json()` makes a value
 * that escapes the bounds and the typed map keys of bounds.ts; `hex()`,
 * `base64()`, `at()`, `optional.*`): a condition may only call these.
 */
const GLOBAL_FUNCTIONS: ReadonlySet<string> = new Set([
  'has', 'size', 'int', 'uint', 'double', 'string', 'bytes', 'bool', 'dyn', 'type', 'duration', 'timestamp', 'matches',
]);
const METHODS: ReadonlySet<string> = new Set([
  'all', 'exists', 'exists_one', 'map', 'filter', 'bind',
  'size', 'contains', 'startsWith', 'endsWith', 'matches', 'lowerAscii', 'upperAscii', 'trim', 'indexOf', 'lastIndexOf', 'substring', 'split', 'join',
  'getDate', 'getDayOfMonth', 'getDayOfWeek', 'getDayOfYear', 'getFullYear', 'getHours', 'getMilliseconds', 'getMinutes', 'getMonth', 'getSeconds',
]);

/**
 * Constructs refused because they would not behave as CEL specifies, or
 * reach the gateway's internals. Run on the AST as parsed, before rewrite() (environment.ts).
 */
export function constructProblems(ast: ASTNode): string[] {
  const problems: string[] = [];
  const negated = new Set<object>();
  for (const node of nodes(ast)) {
    const args = node.args as unknown[];
    if ((node.op === 'id' && typeof node.args === 'string' && node.args.startsWith(INTERNAL_PREFIX)) ||
      ((node.op === 'call' || node.op === 'rcall') && typeof args[0] === 'string' && args[0].startsWith(INTERNAL_PREFIX))) {
      problems.push(`names starting ${INTERNAL_PREFIX} are reserved`);
    } else if ((node.op === 'call' && typeof args[0] === 'string' && !GLOBAL_FUNCTIONS.has(args[0])) ||
      (node.op === 'rcall' && typeof args[0] === 'string' && !METHODS.has(args[0]))) {
      problems.push(`${String(args[0])}(): not a function of CEL's standard definitions or strings extension`);
    }
    // Equality between uint and int or double is not CEL's here (dyn(1) == 1u, 1.0 in [1u] are false), and
    // nothing the gateway gives a condition is a uint: uint values are refused outright.
    if ((node.op === 'value' && typeof node.args === 'object' && node.args !== null && node.args.constructor?.name === 'UnsignedInt') ||
      ((node.op === 'call' || node.op === 'rcall') && args[0] === 'uint')) {
      problems.push('uint values are not supported in conditions; compare with int or double');
    }
    // The parser reads -9223372036854775808 as the negation of 9223372036854775808: that one literal is in range.
    if (node.op === '-_') negated.add(node.args as object);
    if (node.op === 'value' && typeof node.args === 'bigint' && node.args > 9223372036854775807n && !(node.args === 9223372036854775808n && negated.has(node))) {
      problems.push(`${node.args} is outside the int64 range`);
    }
    if (node.op === 'map') {
      for (const [k] of args as [unknown, unknown][]) {
        if (str(k) === null) problems.push('a map literal may only have string literals as keys (maps from the action have string keys; other keys would not compare as CEL specifies)');
      }
    }
    // A literal pattern is checked now; a dynamic one fails its evaluation (and so denies).
    const pattern = node.op === 'rcall' && args[0] === 'matches' ? str((args[2] as unknown[])[0])
      : node.op === 'call' && args[0] === 'matches' ? str((args[1] as unknown[])[1]) : null;
    if (pattern !== null) {
      const why = re2Problem(pattern);
      if (why) problems.push(`matches(${JSON.stringify(pattern)}): not an RE2 pattern (${why}); RE2 has no backreferences or lookaround`);
    }
  }
  return problems;
}

const HEADERS = ['action', 'input', 'headers'];
const ACTION: ReadonlySet<string> = new Set(['action']);

/**
 * Header names a condition writes otherwise than policy sees them. Policy
 * reads an HTTP action's header names as servers do, lower-case with `_` and
 * `.` as `-` (policyInput, core/action.ts), so `action.input.headers["X-Env"]`
 * would never match: under a deny, a rule walked around by any spelling.
 * Caught where the name is a literal: an index, a field, the left of `in`.
 *
 * @example
 * headerNameProblems(env.parse('action.input.headers["X-Env"] == "p"').ast, [['action', 'input', 'headers', 'X-Env']]);
 * // ['action.input.headers["X-Env"]: policy sees header names as servers read them, … (write "x-env"), …']
 */
export function headerNameProblems(ast: ASTNode, paths: readonly (readonly string[])[]): string[] {
  const names: string[] = [];
  for (const p of paths) if (p.length > 3 && HEADERS.every((h, i) => p[i] === h)) names.push(p[3]!);
  for (const n of nodes(ast)) {
    const { op, args } = n as { op: string; args: unknown };
    if (op !== 'in' || !Array.isArray(args)) continue;
    const name = str(args[0]);
    const right = conditionPaths(args[1] as ASTNode, ACTION);
    if (name !== null && right.length === 1 && right[0]!.length === 3 && HEADERS.every((h, i) => right[0]![i] === h)) names.push(name);
  }
  const problems = new Set<string>();
  for (const name of names) {
    if (name !== headerName(name)) {
      problems.add(`action.input.headers[${JSON.stringify(name)}]: policy sees header names as servers read them, lower-case with _ and . as - (write ${JSON.stringify(headerName(name))}), so this would never match`);
    }
  }
  return [...problems];
}

/** What an HTTP action's input says as the agent wrote it, where a fact says what the upstream reads. */
const RAW_HTTP: Readonly<Record<string, string>> = Object.freeze({
  path: 'the path as the agent wrote it, which spelt otherwise reaches the same resource (a trailing /, //, %-escapes, a ?query); read facts.http.path, the path as the upstream reads it',
  query: 'the query as the agent wrote it, without what its path carries after ?; read facts.http.query, every parameter the upstream reads',
});

/**
 * Reads of an HTTP action's path or query as given: a rule on them, under a
 * deny, is walked around by another spelling of the same call
 * (`/admin/purge/`, `/admin/purge?x`). The facts are those the call is sent with.
 *
 * @example
 * rawHttpProblems([['action', 'input', 'path']]); // ['action.input.path: the path as the agent wrote it, …']
 */
export function rawHttpProblems(paths: readonly (readonly string[])[]): string[] {
  const problems = new Set<string>();
  for (const p of paths) {
    const field = p[2];
    if (p[0] === 'action' && p[1] === 'input' && field !== undefined && Object.hasOwn(RAW_HTTP, field)) problems.add(`action.input.${field}: ${RAW_HTTP[field]}`);
  }
  return [...problems];
}

/** The roots of FOLDED, for the paths on the right of `in`. */
const FOLDED_ROOTS: ReadonlySet<string> = new Set(['action', 'facts']);

/** Where policy sees object keys folded (policyInput, policyVariables). */
const FOLDED: readonly (readonly string[])[] = [
  ['action', 'input', 'body'],
  ['action', 'input', 'arguments'],
  ['facts', 'mcp', 'arguments'],
  ['facts', 'http', 'query'],
];

/**
 * Keys of a body, of tool arguments or of a query a condition writes otherwise than
 * policy sees them: folded, as case-insensitive readers (Go's encoding/json,
 * .NET, Jackson) read them, so `action.input.body.Amount` would never match
 * and a deny on `amount` holds against `{"AMOUNT": …}`.
 *
 * @example
 * foldedKeyProblems([['action', 'input', 'body', 'Amount']]); // ['action.input.body.Amount: … (write amount), …']
 */
export function foldedKeyProblems(paths: readonly (readonly string[])[], ast?: ASTNode): string[] {
  const problems = new Set<string>();
  // A literal on the left of `in` names a key too (`"ENV" in facts.http.query`).
  const named = [...paths];
  for (const n of ast ? nodes(ast) : []) {
    const { op, args } = n as { op: string; args: unknown };
    const name = op === 'in' && Array.isArray(args) ? str(args[0]) : null;
    const right = name === null ? [] : conditionPaths((args as ASTNode[])[1]!, FOLDED_ROOTS);
    if (name !== null && right.length === 1) named.push([...right[0]!, name]);
  }
  for (const p of named) {
    const root = FOLDED.find((f) => p.length > f.length && f.every((s, i) => p[i] === s));
    if (!root) continue;
    for (let i = root.length; i < p.length; i++) {
      const key = p[i]!;
      if (key === foldKey(key)) continue;
      problems.add(`${p.slice(0, i + 1).join('.')}: policy sees the keys of a body, of tool arguments and of a query folded, as case-insensitive readers (Go, .NET, Jackson) read them (write ${foldKey(key)}), so this would never match`);
      break;
    }
  }
  return [...problems];
}
