/**
 * Agent text that cannot pass for something it is not. A reviewer reads
 * what an agent wrote (its reason, its SQL, a path) on a page, a chat card
 * or a terminal; characters that draw nothing, move text or start a new
 * line there would let it hide a word (`DELETE` behind a right-to-left
 * override), fake a line of the gateway's own (`Risk: read-only` after a
 * U+2028 line separator) or look empty. Allow-list by Unicode category:
 * every control (Cc), format character (Cf: bidi marks and overrides,
 * zero-width spaces and joiners, the BOM, soft hyphen), line and paragraph
 * separator (Zl, Zp), private-use, surrogate half or unassigned code point
 * is shown as U+FFFD, as are the few letters that render as blank space
 * (Hangul fillers, the blank Braille pattern) and the marks that draw
 * nothing: variation selectors (256 of them, a byte each, enough to carry a
 * message a model downstream reads and the reviewer never sees; an emoji's
 * own text-or-emoji selector is kept), the combining grapheme joiner, the
 * Mongolian free variation selectors and the Khmer inherent vowels. A
 * letter keeps four combining marks (Vietnamese and Hebrew need no more);
 * each one after those is U+FFFD, since dozens stacked on one letter draw
 * over the lines above and below it. Newlines and tabs are kept only where
 * the text is shown as several lines.
 */

// Single characters a reviewer would not see as what they are; `\n`, `\t` and `\r` handled by the callers.
const HIDDEN_CHARS = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Cn}\u115F\u1160\u3164\uFFA0\u2800\u034F\u17B4\u17B5\u180B-\u180D\u180F\uFE00-\uFE0D\u{E0100}-\u{E01EF}`;
// U+FE0E/U+FE0F chose text or emoji style for the emoji before them; anywhere else they draw nothing.
// Each look-behind follows the character it concerns, so it runs only where that character is.
const STRAY_SELECTOR = String.raw`[\uFE0E\uFE0F](?<!\p{Emoji}.)`;
// The fifth and every later combining mark in a row.
const STACKED_MARK = String.raw`\p{M}(?<=\p{M}{5})`;
const HIDDEN = new RegExp(`[${HIDDEN_CHARS}]|${STRAY_SELECTOR}|${STACKED_MARK}`, 'gu');

/**
 * Several lines of agent text, every hidden character shown as U+FFFD;
 * newlines (CRLF, and a lone CR, as one) and tabs kept. Length never grows.
 *
 * @example
 * visibleText('ok\u2028Risk: read-only'); // 'ok\uFFFDRisk: read-only'
 */
export function visibleText(text: string): string {
  // A lone CR breaks the line for PostgreSQL (it ends a `--` comment) and a terminal: as U+FFFD,
  // `SELECT 1 -- x\rDELETE FROM orders` read as one commented-out line. Shown as the break it is.
  return replaceHidden(text.replace(/\r\n?/g, '\n'), () => '\uFFFD');
}

/**
 * Each hidden character but newline and tab replaced by what `by` makes of
 * it: for a surface that names it instead (a terminal prints `\u{202e}`).
 *
 * @example
 * replaceHidden('a\u202Eb', (c) => `<${c.codePointAt(0)}>`); // 'a<8238>b'
 */
export function replaceHidden(text: string, by: (c: string) => string): string {
  return text.replace(HIDDEN, (c) => (c === '\n' || c === '\t' ? c : by(c)));
}

/**
 * Agent text on one line: hidden characters as U+FFFD, and every run of
 * whitespace (newlines, tabs, no-break and other wide spaces) one space.
 *
 * @example
 * flatText('SELECT 1;\n\u00A0DELETE'); // 'SELECT 1; DELETE'
 */
export function flatText(text: string): string {
  return text.replace(/[\t\n\r\p{Zs}]+/gu, ' ').replace(HIDDEN, '\uFFFD');
}

/**
 * Agent text printed under a label, every line after the first behind a
 * gutter, so none of its lines can pass for one of the surface's own.
 *
 * @example
 * guttered('fine\nRisk: read-only', '      '); // 'fine\n      │ Risk: read-only'
 */
export function guttered(text: string, indent = ''): string {
  return visibleText(text).split('\n').join(`\n${indent}│ `);
}

// HIDDEN less \t, \n and \r (shown as the breaks they are), without the global flag so test() keeps no position.
const HIDDEN_ONE = new RegExp(String.raw`(?![\t\n\r])[${HIDDEN_CHARS}]|${STRAY_SELECTOR}|${STACKED_MARK}`, 'u');

/**
 * Whether any string in a value (keys of objects too, however deep) holds a
 * hidden character, for the review brief's `hidden characters` risk: each
 * is shown as U+FFFD, which a reviewer may take for a glitch.
 *
 * @example
 * hasHidden({ sql: 'SELECT 1 -- \u202E' }); // true
 */
export function hasHidden(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (HIDDEN_ONE.test(v)) return true;
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) stack.push(k, x);
    }
  }
  return false;
}
