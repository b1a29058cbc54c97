/**
 * The CEL environment conditions run in, made to follow the CEL spec where
 * the library (@marcbachmann/cel-js) differs from it in ways that turn a deny
 * into an allow, and to be bounded:
 *
 * - `matches()` is RE2 (regex.ts), not JavaScript's backtracking RegExp;
 *   `lowerAscii()`/`upperAscii()` change ASCII letters only, and indexes are
 *   in code points (strings.ts); int(), double() and timestamp() convert
 *   only what CEL converts (conversions.ts). The library lets no built-in
 *   overload be replaced, so after parsing the call nodes are pointed at
 *   these implementations (rewrite()), which are registered under internal
 *   names a condition cannot write (`__cs_…`, refused at load).
 * - Map literals evaluate to Maps, as every map in the variables is (see
 *   bounds.ts): keys keep their type, `443 in {"443": true}` is false.
 * - Every node the evaluator evaluates ticks the meter of the evaluation in
 *   progress (bounds.ts): the library has no evaluation limits of its own,
 *   and all its evaluation goes through one method, `run`, of its evaluator,
 *   which is wrapped here (the evaluator is reached through a function
 *   handler's `this`, which the library binds to it).
 *
 * semantics.test.ts holds the library to these outcomes, so an upgrade that
 * changes them is caught.
 */
import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { Meter } from './bounds.ts';
import { doubleOfString, durationOfString, intOfDouble, intOfString, MAX_INT, MAX_TIME, MIN_INT, MIN_TIME, timestampOfInt, timestampOfString } from './conversions.ts';
import { re2Matches } from './regex.ts';
import { asciiCase, compareCodePoints, indexOf, lastIndexOf, split, substring, trim } from './strings.ts';
import type { VarType } from './types.ts';

/** The variables a condition may use. */
export const POLICY_VARIABLES = ['principal', 'action', 'facts', 'connection', 'context'] as const;

export const INTERNAL_PREFIX = '__cs_';

/** Built-in receiver functions replaced by spec-following ones: name → internal name. */
const REPLACED_METHODS: Readonly<Record<string, string>> = Object.fromEntries(
  ['matches', 'lowerAscii', 'upperAscii', 'trim', 'indexOf', 'lastIndexOf', 'substring', 'split'].map((m) => [m, `${INTERNAL_PREFIX}${m}`]),
);
const REPLACED_FUNCTIONS: Readonly<Record<string, string>> = Object.fromEntries(
  ['int', 'double', 'timestamp', 'duration'].map((f) => [f, `${INTERNAL_PREFIX}${f}`]),
);

/** The environment, with the slot holding the meter of the evaluation in progress. */
export interface PolicyEnvironment {
  readonly env: Environment;
  readonly slot: { meter: Meter };
}

/** The library's name for a declared type, registering the object types it needs. */
function declare(env: Environment, type: VarType, registered: Set<string>): string {
  switch (type.kind) {
    case 'scalar':
      return type.cel === 'timestamp' ? 'google.protobuf.Timestamp' : type.cel;
    case 'dyn':
    case 'nullable':
      return 'dyn';
    case 'list':
      return `list<${declare(env, type.of, registered)}>`;
    case 'map':
      return `map<string, ${declare(env, type.of, registered)}>`;
    case 'object': {
      if (!registered.has(type.name)) {
        const fields = Object.fromEntries(Object.entries(type.fields).map(([k, t]) => [k, declare(env, t, registered)]));
        // Only type-checked, never evaluated: a bare class stands for the values (no conversion).
        env.registerType(type.name, { ctor: class {}, fields });
        registered.add(type.name);
      }
      return type.name;
    }
  }
}

/**
 * `types`: declare each variable so (for the type check at load); without,
 * each is a map of anything (for evaluation, which needs no declarations).
 */
export function policyEnvironment(types?: Readonly<Record<(typeof POLICY_VARIABLES)[number], VarType>>): PolicyEnvironment {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  const registered = new Set<string>();
  for (const name of POLICY_VARIABLES) env.registerVariable(name, types ? declare(env, types[name], registered) : 'map');
  const slot = { meter: Meter.unbounded() };
  // A step is worth about 16 units of regex work (program instructions × characters), as measured on re2js.
  const charge = (work: number) => slot.meter.tick(1 + Math.ceil(work / 16));

  env.registerFunction(`string.${INTERNAL_PREFIX}matches(string): bool`, (s: string, re: string) => re2Matches(s, re, charge));
  env.registerFunction('matches(string, string): bool', (s: string, re: string) => re2Matches(s, re, charge));
  env.registerFunction(`string.${INTERNAL_PREFIX}lowerAscii(): string`, (s: string) => asciiCase(s, false));
  env.registerFunction(`string.${INTERNAL_PREFIX}upperAscii(): string`, (s: string) => asciiCase(s, true));
  env.registerFunction(`string.${INTERNAL_PREFIX}trim(): string`, trim);
  const m = (sig: string, fn: (...args: never[]) => unknown) => env.registerFunction(`string.${INTERNAL_PREFIX}${sig}`, fn);
  m('indexOf(string): int', (s: string, sub: string) => indexOf(s, sub));
  m('indexOf(string, int): int', (s: string, sub: string, from: bigint) => indexOf(s, sub, from));
  m('lastIndexOf(string): int', (s: string, sub: string) => lastIndexOf(s, sub));
  m('lastIndexOf(string, int): int', (s: string, sub: string, from: bigint) => lastIndexOf(s, sub, from));
  m('substring(int): string', (s: string, start: bigint) => substring(s, start));
  m('substring(int, int): string', (s: string, start: bigint, end: bigint) => substring(s, start, end));
  m('split(string): list<string>', (s: string, sep: string) => split(s, sep));
  m('split(string, int): list<string>', (s: string, sep: string, limit: bigint) => split(s, sep, limit));
  const f = (sig: string, fn: (...args: never[]) => unknown) => env.registerFunction(`${INTERNAL_PREFIX}${sig}`, fn);
  const TS = 'google.protobuf.Timestamp';
  f('int(int): int', (v: bigint) => v);
  f('int(double): int', intOfDouble);
  f('int(string): int', intOfString);
  f(`int(${TS}): int`, (t: Date) => BigInt(Math.floor(t.getTime() / 1000)));
  f('double(double): double', (v: number) => v);
  f('double(int): double', (v: bigint) => Number(v));
  f('double(string): double', doubleOfString);
  f(`timestamp(string): ${TS}`, timestampOfString);
  f(`timestamp(int): ${TS}`, timestampOfInt);
  f(`timestamp(${TS}): ${TS}`, (t: Date) => t);
  // The library's Duration class is not exported: reach it through a value.
  const Duration = (env.evaluate('duration("1s")') as object).constructor as new (seconds: bigint, nanos: number) => object;
  const GPD = 'google.protobuf.Duration';
  f(`duration(string): ${GPD}`, (s: string) => {
    const { seconds, nanos } = durationOfString(s);
    return new Duration(seconds, nanos);
  });
  f(`duration(${GPD}): ${GPD}`, (d: object) => d);

  // Reach the evaluator once and wrap its `run`, through which every node is evaluated.
  let evaluator: { run: (ast: ASTNode, ctx: unknown) => unknown } | undefined;
  env.registerFunction(`${INTERNAL_PREFIX}probe(): bool`, function (this: typeof evaluator) {
    evaluator = this;
    return true;
  });
  env.evaluate(`${INTERNAL_PREFIX}probe()`, {});
  if (!evaluator || typeof evaluator.run !== 'function') throw new Error('the CEL evaluator could not be bounded (library changed?)');
  evaluator.run = function run(this: unknown, ast: ASTNode, ctx: unknown) {
    slot.meter.tick();
    return (ast as unknown as { evaluate(ev: unknown, ast: ASTNode, ctx: unknown): unknown }).evaluate(this, ast, ctx);
  };
  return { env, slot };
}

type Node = { op: string; args: unknown; setMeta?: (key: string, value: unknown) => unknown };
const isNode = (x: unknown): x is Node => typeof x === 'object' && x !== null && 'op' in x && 'args' in x;

/** Every node of a parsed condition, as the parser wrote them (macro expansions share these nodes). */
export function* nodes(ast: unknown): Generator<Node> {
  if (Array.isArray(ast)) {
    for (const x of ast) yield* nodes(x);
    return;
  }
  if (!isNode(ast)) return;
  yield ast;
  if (ast.op !== 'value') yield* nodes(ast.args);
}

function evaluateMapLiteral(ev: { run(ast: unknown, ctx: unknown): unknown }, ast: Node, ctx: unknown): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  for (const [k, v] of ast.args as [unknown, unknown][]) out.set(ev.run(k, ctx), ev.run(v, ctx));
  return out;
}

class CelOverflowError extends Error {
  override readonly name = 'EvaluationError';
}

function inInt64(v: unknown): unknown {
  if (typeof v === 'bigint' && (v > MAX_INT || v < MIN_INT)) throw new CelOverflowError(`integer overflow: ${v}`);
  // A timestamp moved out of CEL's range (years 1..9999) is an error, not an Invalid Date that compares false.
  if (v instanceof Date && !(v.getTime() >= MIN_TIME && v.getTime() <= MAX_TIME)) throw new CelOverflowError('timestamp overflow');
  return v;
}

type Evaluate = (this: unknown, ev: { run(ast: unknown, ctx: unknown): unknown }, ast: Node & Record<string, unknown>, ctx: unknown) => unknown;

/**
 * Integer arithmetic stays in int64 or errors, as CEL specifies: the library
 * checks + - * but not unary minus, / and % (`-(-9223372036854775808)`,
 * `-9223372036854775808 / -1`, `-9223372036854775808 % -1`).
 */
const checkedArithmetic: Evaluate = function (ev, ast, ctx) {
  if (ast.op === '-_') {
    const v = ev.run(ast.args, ctx);
    return inInt64((ast['handle'] as (v: unknown, ast: unknown, ev: unknown) => unknown)(v, ast, ev));
  }
  const [left, right] = ast.args as [unknown, unknown];
  const l = ev.run(left, ctx);
  const r = ev.run(right, ctx);
  if (ast.op === '%' && l === MIN_INT && r === -1n) throw new CelOverflowError('integer overflow: -9223372036854775808 % -1');
  return inInt64((ast['handle'] as (l: unknown, r: unknown, ast: unknown, ev: unknown) => unknown)(l, r, ast, ev));
};

const ARITHMETIC = new Set(['-_', '+', '-', '*', '/', '%']);

/** Strings order by code point (strings.ts), whatever JavaScript's `<` says; other values as the library orders them. */
const relation: Evaluate = function (ev, ast, ctx) {
  const [left, right] = ast.args as [unknown, unknown];
  const l = ev.run(left, ctx);
  const r = ev.run(right, ctx);
  if (typeof l !== 'string' || typeof r !== 'string') return (ast['handle'] as (l: unknown, r: unknown, ast: unknown, ev: unknown) => unknown)(l, r, ast, ev);
  const c = compareCodePoints(l, r);
  return ast.op === '<' ? c < 0 : ast.op === '<=' ? c <= 0 : ast.op === '>' ? c > 0 : c >= 0;
};

const RELATIONS = new Set(['<', '<=', '>', '>=']);

class CelKindError extends Error {
  override readonly name = 'EvaluationError';
}

/** The kind of a scalar as an upstream may convert between them: bool, number (int or double) or string; else null. */
function scalarKind(v: unknown): 'bool' | 'number' | 'string' | null {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  return typeof v === 'string' ? 'string' : null;
}

/** A bool or number literal of the condition (`true`, `0`, `1000.0`), not a value computed from the input. */
const isKindLiteral = (n: unknown): boolean => {
  const node = n as { op?: unknown; args?: unknown };
  return node?.op === 'value' && (typeof node.args === 'boolean' || typeof node.args === 'number' || typeof node.args === 'bigint');
};

/**
 * `==` and `!=` against a bool or number literal error when the other side is a scalar of another kind: CEL says
 * `"true" == true` is false, but upstreams that convert types (pydantic's lax mode in FastAPI, Jackson in Spring) read
 * `"true"`, `"yes"` or `1` as true and `"0"` as 0, so a rule on the literal would not match what the upstream acts on.
 * The error denies. Null, lists and maps compare as CEL says.
 */
const equality: Evaluate = function (ev, ast, ctx) {
  const [left, right] = ast.args as [unknown, unknown];
  const l = ev.run(left, ctx);
  const r = ev.run(right, ctx);
  const [kl, kr] = [scalarKind(l), scalarKind(r)];
  if (kl !== null && kr !== null && kl !== kr && (isKindLiteral(left) || isKindLiteral(right))) {
    throw new CelKindError(`a ${kl} compared with a ${kr} by ${ast.op}: an upstream may read one as the other (write the value in the kind the rule compares)`);
  }
  return (ast['handle'] as (l: unknown, r: unknown, ast: unknown, ev: unknown) => unknown)(l, r, ast, ev);
};

const EQUALITIES = new Set(['==', '!=']);

/** `x in [true, 0]`, a list literal, as the equalities it stands for: not found, and a literal of another kind, errs. */
const membership: Evaluate = function (ev, ast, ctx) {
  const [left, right] = ast.args as [unknown, Node];
  const l = ev.run(left, ctx);
  const r = ev.run(right, ctx);
  const found = (ast['handle'] as (l: unknown, r: unknown, ast: unknown, ev: unknown) => unknown)(l, r, ast, ev);
  const kind = scalarKind(l);
  if (found === false && kind !== null && right.op === 'list') {
    const other = (right.args as unknown[]).find((n) => isKindLiteral(n) && scalarKind((n as Node).args) !== kind);
    if (other) throw new CelKindError(`a ${kind} looked up by in among ${scalarKind((other as Node).args)} literals: an upstream may read one as the other (write the value in the kind the rule compares)`);
  }
  return found;
};

/**
 * Points a freshly parsed condition (not yet type-checked or evaluated) at
 * the spec-following functions, makes its map literals Maps, and its integer
 * arithmetic checked.
 */
export function rewrite(ast: ASTNode): void {
  for (const node of nodes(ast)) {
    const args = node.args as unknown[];
    if (ARITHMETIC.has(node.op)) node.setMeta?.('evaluate', checkedArithmetic);
    else if (RELATIONS.has(node.op)) node.setMeta?.('evaluate', relation);
    else if (EQUALITIES.has(node.op)) node.setMeta?.('evaluate', equality);
    else if (node.op === 'in') node.setMeta?.('evaluate', membership);
    if (node.op === 'rcall' && typeof args[0] === 'string' && REPLACED_METHODS[args[0]]) args[0] = REPLACED_METHODS[args[0]];
    else if (node.op === 'call' && typeof args[0] === 'string' && REPLACED_FUNCTIONS[args[0]]) args[0] = REPLACED_FUNCTIONS[args[0]];
    else if (node.op === 'map' && args.length > 0) node.setMeta?.('evaluate', evaluateMapLiteral);
  }
}
