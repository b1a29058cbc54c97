/**
 * A bound on how deep a SQL text can make the parser's tree, checked by one
 * linear scan before the parser sees the text. libpg-query writes the tree
 * out recursively on the native stack: a chain of a few thousand `+ 1`, a
 * few thousand `UNION SELECT`s or JOINs, or a few hundred nested subqueries
 * around such a chain overflow it, and the overflow aborts the WASM instance
 * mid-call (sql-parser.ts then drops it). Aborts are cheap to cause and each
 * costs a new instance; two in a row left none for half a second, so every
 * SQL action of every agent was refused meanwhile.
 *
 * The scan follows the lexer of PostgreSQL (scan.l) only as far as it must to
 * see structure: strings ('…', E'…' with backslash escapes, U&'…'), quoted
 * identifiers, dollar quotes, nested block comments and line comments are
 * skipped whole; outside them it counts, for each level of nesting (brackets
 * of both kinds, and CASE … END), the tokens since the last separator that
 * the grammar turns into a list rather than a deeper node (a comma, a
 * semicolon, AND, OR, WHEN, THEN, ELSE). The cost of a path is the tokens
 * counted on it at every level from the top, plus one per level; set
 * operations (UNION, INTERSECT, EXCEPT) nest across commas and are counted
 * apart, never reset by a comma. A text is refused when a path costs more
 * than MAX_PATH_COST or nests more than MAX_NESTING levels: several times
 * under what aborts the parser, far past SQL anyone writes or generates (a
 * 10,000-value IN list or VALUES list, or 1,000 ANDed conditions, costs a
 * handful). Where the scan and the lexer could part (a string form it does
 * not know), it counts more, never less.
 */

/** Tokens on one path from the top of a statement to a leaf, levels included. */
export const MAX_PATH_COST = 2_000;
/** Levels of brackets and CASE … END. */
export const MAX_NESTING = 1_000;

/** Words after which the grammar starts the next item of a flat list (a BoolExpr's args, a CASE's WHENs). */
const SEPARATORS: ReadonlySet<string> = new Set(['and', 'or', 'when', 'then', 'else']);
const SET_OPERATIONS: ReadonlySet<string> = new Set(['union', 'intersect', 'except']);
/** scan.l `dolqdelim`, matched where the scan stands. */
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
/** Character classes by code (one table lookup per character: the scan runs before every parse). */
const OP = 1, WORD_START = 2, WORD = 4, NUMBER = 8, DIGIT = 16;
const CLASS = new Uint8Array(128);
// Characters of PostgreSQL operators (scan.l `self` and `op_chars`); a run of them is one token.
for (const c of '+-*/<>=~!@#%^&|`?:') CLASS[c.charCodeAt(0)]! |= OP;
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_]/.test(ch)) CLASS[c]! |= WORD_START | WORD | NUMBER;
  if (/[0-9]/.test(ch)) CLASS[c]! |= WORD | NUMBER | DIGIT;
}
CLASS[36]! |= WORD; // $ inside a name
CLASS[46]! |= NUMBER; // .
/** Whether the character at `i` is of class `k`; every non-ASCII character is a letter of a name. */
const is = (sql: string, i: number, k: number): boolean => {
  const c = sql.charCodeAt(i);
  return c >= 128 ? (k & (WORD_START | WORD)) !== 0 : ((CLASS[c] ?? 0) & k) !== 0;
};

interface Level {
  /** The cost of the path down to this level. */
  readonly base: number;
  /** Tokens since the last separator at this level. */
  count: number;
  /** Set operations met at this level since the last semicolon. */
  setOps: number;
  /** What opened it: a closing bracket or END closes only its own. */
  readonly opener: '(' | '[' | 'case' | 'top';
}

/**
 * Why the parser must not be given `sql` (the SQL nests or chains further than it can write out safely), or undefined.
 *
 * @example
 * tooComplexForParser('SELECT 1' + ' + 1'.repeat(50_000)); // 'SQL chains more terms …'
 * tooComplexForParser('SELECT * FROM t WHERE id IN (1, 2, 3)'); // undefined
 */
export function tooComplexForParser(sql: string): string | undefined {
  const stack: Level[] = [];
  let top: Level = { base: 0, count: 0, setOps: 0, opener: 'top' };
  const n = sql.length;
  const tooLong = () => `SQL chains more terms in one expression or statement than the gateway analyses (${MAX_PATH_COST}); nothing ran`;
  // One token at the current level: refused once the path through it costs too much.
  const term = (): boolean => ++top.count + top.setOps + top.base > MAX_PATH_COST;
  const open = (opener: Level['opener']): boolean => {
    stack.push(top);
    top = { base: top.base + top.count + top.setOps + 1, count: 0, setOps: 0, opener };
    return stack.length > MAX_NESTING || top.base > MAX_PATH_COST;
  };
  const close = (opener: Level['opener']): boolean => {
    if (top.opener !== opener) return term();
    top = stack.pop()!;
    return term();
  };
  let i = 0;
  // The last token was a lone '.': a keyword after it is a column's name (x. and, x. end), never AND or END.
  let afterDot: boolean = false;
  while (i < n) {
    const c = sql[i]!;
    const d = sql[i + 1];
    const named: boolean = afterDot;
    afterDot = false;
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      afterDot = named;
    } else if (c === '-' && d === '-') {
      // scan.l: a line comment ends at \n or \r.
      i += 2;
      while (i < n && sql[i] !== '\n' && sql[i] !== '\r') i++;
      afterDot = named;
    } else if (c === '/' && d === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
      afterDot = named;
    } else if (c === "'") {
      i = skipQuoted(sql, i, "'", false);
      if (term()) return tooLong();
    } else if ((c === 'E' || c === 'e') && d === "'") {
      i = skipQuoted(sql, i + 1, "'", true);
      if (term()) return tooLong();
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
      if (term()) return tooLong();
    } else if (c === '$' && d !== undefined && is(sql, i + 1, DIGIT)) {
      // A parameter ($1).
      i++;
      while (i < n && is(sql, i, DIGIT)) i++;
      if (term()) return tooLong();
    } else if (c === '$') {
      // A tag of any length: scan.l sets none.
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
      } else i++;
      if (term()) return tooLong();
    } else if (c === '(' || c === '[') {
      i++;
      if (open(c)) return `SQL nests more deeply than the gateway analyses (${MAX_NESTING} levels, or ${MAX_PATH_COST} terms on the way down); nothing ran`;
    } else if (c === ')' || c === ']') {
      i++;
      if (close(c === ')' ? '(' : '[')) return tooLong();
    } else if (c === ',' || c === ';') {
      i++;
      top.count = 0;
      if (c === ';') top.setOps = 0;
    } else if (is(sql, i, WORD_START)) {
      // U&'…' and U&"…" are a word then an operator then a quoted token here: counted, never skipped wrongly.
      const start = i;
      while (i < n && is(sql, i, WORD)) i++;
      const word = sql.slice(start, i).toLowerCase();
      if (named) {
        if (term()) return tooLong();
      } else if (SEPARATORS.has(word)) top.count = 0;
      else if (word === 'case') {
        if (open('case')) return `SQL nests more deeply than the gateway analyses (${MAX_NESTING} levels, or ${MAX_PATH_COST} terms on the way down); nothing ran`;
      } else if (word === 'end' && top.opener === 'case') {
        if (close('case')) return tooLong();
      } else if (SET_OPERATIONS.has(word)) {
        if (++top.setOps + top.count + top.base > MAX_PATH_COST) return tooLong();
      } else if (term()) return tooLong();
    } else if (is(sql, i, DIGIT) || c === '.') {
      const start = i;
      while (i < n && sql.charCodeAt(i) < 128 && is(sql, i, NUMBER)) i++;
      afterDot = i - start === 1 && c === '.';
      if (term()) return tooLong();
    } else if (is(sql, i, OP)) {
      // A run of operator characters, stopping where a comment starts. scan.l cuts the + and - a run ends with off
      // into operators of their own (`-+-+1` is four unary operators, one inside the other): each sign counts.
      let signs = c === '+' || c === '-' ? 1 : 0;
      i++;
      while (i < n && is(sql, i, OP) && !(sql[i] === '-' && sql[i + 1] === '-') && !(sql[i] === '/' && sql[i + 1] === '*')) {
        if (sql[i] === '+' || sql[i] === '-') signs++;
        i++;
      }
      top.count += Math.max(0, signs - 1);
      if (term()) return tooLong();
    } else {
      i++;
      if (term()) return tooLong();
    }
  }
  return undefined;
}

/** The index after the quoted token starting at `at` (doubled quotes stay inside; backslash escapes where `escapes`). */
function skipQuoted(sql: string, at: number, quote: string, escapes: boolean): number {
  let i = at + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (escapes && c === '\\') i += 2;
    else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}
