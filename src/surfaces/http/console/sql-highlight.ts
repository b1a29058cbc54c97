/**
 * SQL highlighting on the server: a small PostgreSQL lexer that splits the
 * text into tokens without losing a character, and wraps each kind in a span.
 * Every token's text goes through the escaping template, so a string literal
 * holding `</pre><script>` is shown as written. It only colours; the facts
 * the policy saw come from the real parser.
 */
import { html, type Html } from './html.ts';

export type SqlTokenKind = 'keyword' | 'string' | 'identifier' | 'number' | 'param' | 'comment' | 'operator' | 'word' | 'space';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  readonly text: string;
}

const KEYWORDS = new Set(
  `select from where and or not insert into values update set delete returning create alter drop table index view
   grant revoke on to with as join left right inner outer full cross using group by order having limit offset union
   all distinct case when then else end is null true false in exists between like ilike truncate begin commit rollback
   primary key references default cascade restrict role user copy call do function procedure schema sequence trigger
   merge matched nothing conflict for share lateral asc desc nulls first last explain analyze vacuum if only`
    .split(/\s+/)
    .filter(Boolean),
);

// Order matters: comments and quoted forms before operators; dollar quotes before parameters. Block comments nest,
// which no regular expression counts: blockCommentLength.
const RULES: readonly [SqlTokenKind, RegExp][] = [
  // PostgreSQL's whitespace is ASCII: a no-break or other Unicode space is a letter of a name to it.
  ['space', /[ \t\n\r\f\v]+/y],
  // PostgreSQL's lexer ends a line comment at \r as at \n: what follows runs, and must not look commented out.
  ['comment', /--[^\n\r]*/y],
  ['string', /'(?:[^']|'')*(?:'|$)/y],
  // A tag takes the letters an identifier does, `é` too, as PostgreSQL's lexer does.
  ['string', /(\$[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*\$|\$\$)[\s\S]*?(?:\1|$)/y],
  ['identifier', /"(?:[^"]|"")*(?:"|$)/y],
  ['param', /\$\d+/y],
  ['number', /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y],
  ['word', /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y],
  // PostgreSQL ends an operator before `--` or `/*`: `*--'` is `*` and a comment, not an operator and a string.
  ['operator', /(?:(?!--|\/\*)[^\sA-Za-z0-9_'"$])+|\$/y],
];

/**
 * The length of the block comment at `at`, as PostgreSQL reads it: nested,
 * so `/* a /* b *\/ 'c *\/` is one comment, and what follows it runs.
 * Unterminated, it runs to the end.
 */
function blockCommentLength(sql: string, at: number): number {
  let depth = 0;
  let i = at;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) break;
    } else {
      i += 1;
    }
  }
  return i - at;
}

const E_START = /^[eE]'$/;
// PostgreSQL's quote continuation: a literal goes on, as the kind it began, after a quote that follows whitespace
// holding a line break (line comments may stand after the break).
const CONTINUATION = /[ \t\f]*[\n\r](?:[ \t\n\r\f\v]+|--[^\n\r]*[\n\r])*'/y;

/**
 * The length of the escape string (`E'…'`) at `at`, as PostgreSQL reads it:
 * a backslash escapes the next character, and after a line break a further
 * quote goes on with the same literal (`E'x'\n'\' '` is one string).
 * Unterminated, it runs to the end.
 */
function escapeStringLength(sql: string, at: number): number {
  let i = at + 2;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\') i += 2;
    else if (c !== "'") i += 1;
    else if (sql[i + 1] === "'") i += 2;
    else {
      CONTINUATION.lastIndex = i + 1;
      if (!CONTINUATION.test(sql)) return i + 1 - at;
      i = CONTINUATION.lastIndex;
    }
  }
  return Math.min(i, sql.length) - at;
}

/**
 * @example
 * tokenizeSql("select 'a'").map((t) => t.kind); // ['keyword', 'space', 'string']
 */
export function tokenizeSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let at = 0;
  while (at < sql.length) {
    const special = sql.startsWith('/*', at) ? (['comment', blockCommentLength(sql, at)] as const) : E_START.test(sql.slice(at, at + 2)) ? (['string', escapeStringLength(sql, at)] as const) : undefined;
    if (special) {
      const text = sql.slice(at, at + special[1]);
      tokens.push({ kind: special[0], text });
      at += text.length;
      continue;
    }
    let matched = false;
    for (const [kind, re] of RULES) {
      re.lastIndex = at;
      const m = re.exec(sql);
      if (!m || m[0].length === 0) continue;
      const text = m[0];
      tokens.push({ kind: kind === 'word' && KEYWORDS.has(text.toLowerCase()) ? 'keyword' : kind, text });
      at += text.length;
      matched = true;
      break;
    }
    if (!matched) {
      tokens.push({ kind: 'operator', text: sql[at]! });
      at += 1;
    }
  }
  return tokens;
}

/** The SQL as markup: one span per coloured token, every character escaped. */
export function highlightSql(sql: string): Html {
  return html`${tokenizeSql(sql).map((t) => (t.kind === 'space' || t.kind === 'word' || t.kind === 'operator' ? t.text : html`<span class="sql-${t.kind}">${t.text}</span>`))}`;
}
