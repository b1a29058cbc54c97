/**
 * Where a SQL line comment ends, for text shown on one line. PostgreSQL's
 * lexer ends `--` at a line break (\n or \r) and runs what follows; the
 * one-line forms (the action line every channel leads with, the Approve
 * button, the CLI's list) turn line breaks into spaces, so
 * `DELETE FROM orders WHERE id = 1 -- checked\nOR true` read as a one-row
 * delete with a commented-out tail. The break after a comment is marked.
 */

/** What a SQL line comment's end shows as on one line. */
export const LINE_COMMENT_END = '⏎';

/**
 * The SQL with the line break after each `--` shown as ` ⏎ `. A `--` inside
 * a string literal gets the mark too, which only shows a break that is there.
 *
 * @example
 * lineCommentEnds('WHERE id = 1 -- ok\nOR true'); // 'WHERE id = 1 -- ok ⏎ OR true'
 */
export function lineCommentEnds(sql: string): string {
  return sql.replace(/(--[^\n\r]*)(?:\r\n?|\n)/g, `$1 ${LINE_COMMENT_END} `);
}

/**
 * Text on one line, every line break (\n, \r\n, a lone \r) shown as ` ⏎ `: a
 * derived fact, a reviewer's comment or a break-glass justification shown
 * where a line of its own would read as one of the surface's (`approvals
 * still needed: none`).
 *
 * @example
 * oneLine('fine\napprovals   still needed: none'); // 'fine ⏎ approvals   still needed: none'
 */
export function oneLine(text: string): string {
  return text.replace(/\r\n?|\n/g, ` ${LINE_COMMENT_END} `);
}
