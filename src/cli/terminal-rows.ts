/**
 * Lines no wider than the terminal. Agent text sits behind a gutter (`│ `)
 * on every line of its own, so none passes for a line of ours; but the
 * terminal wraps a line longer than it is wide, and the row it wraps onto
 * starts at the left edge with no gutter: a reason padded with spaces to the
 * edge put `  facts       writes=false …` there, a row that read as the
 * gateway's. Writing to a terminal, the CLI breaks such lines itself, each
 * further row behind the gutter, so every row it draws starts as it chose.
 */

/**
 * Columns a character may take, never fewer than it does: printable ASCII
 * one, a tab up to eight, anything else two (wide letters, and the marks and
 * symbols that take one or none, counted as two, break a row early, never
 * late). The text has been through `safe`: no other control is left in it.
 */
const columnsOf = (c: string) => (c === '\t' ? 8 : c >= ' ' && c <= '~' ? 1 : 2);

/**
 * Each line of `text` wider than `columns` broken into rows that fit, every
 * row after the first behind `indent` spaces and a gutter. Without a width
 * (not a terminal) or one too narrow to hold a gutter and some text, the
 * text as it is.
 *
 * @example
 * fitRows(`  claim       ${'x'.repeat(100)}`, 80, 14); // '  claim       xxx…x\n              │ xxx…x'
 */
export function fitRows(text: string, columns: number | undefined, indent: number): string {
  const gutter = `${' '.repeat(indent)}│ `;
  // The gutter's own `│` counted as two, as any character outside ASCII is.
  const room = (columns ?? 0) - indent - 3;
  if (columns === undefined || room < 20) return text;
  return text
    .split('\n')
    .map((line) => {
      const rows: string[] = [];
      let row = '';
      let used = 0;
      for (const c of line) {
        const w = columnsOf(c);
        if (used + w > columns) {
          rows.push(row);
          row = gutter;
          used = indent + 3;
        }
        row += c;
        used += w;
      }
      rows.push(row);
      return rows.join('\n');
    })
    .join('\n');
}

/** The width of the terminal `out` writes to, or undefined for a pipe or a file. */
export function terminalColumns(out: { readonly isTTY?: boolean; readonly columns?: number }): number | undefined {
  return out.isTTY && out.columns !== undefined && out.columns > 0 ? out.columns : undefined;
}
