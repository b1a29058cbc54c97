/**
 * Text of bounded size from input of any size. A reviewer's page or card
 * shows the start of a large input and says it was cut; it never grows
 * with the input (48 KB of nested JSON pretty-printed naively is over
 * 100 MB, its indentation growing with the depth). Cuts never split a
 * surrogate pair.
 */

/** Nesting deeper than this is shown compact, so indentation stays bounded. */
export const PRETTY_DEPTH = 24;

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;

/**
 * At most `max` UTF-16 units of `text`, never ending inside a surrogate pair.
 *
 * @example
 * cutText('a😀b', 2); // { text: 'a', cut: true }
 */
export function cutText(text: string, max: number): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  let end = Math.max(0, max);
  if (end > 0 && isHigh(text.charCodeAt(end - 1))) end--;
  return { text: text.slice(0, end), cut: true };
}

/**
 * JSON pretty-printed with two spaces, stopping at `max` characters;
 * deeper than PRETTY_DEPTH it continues compact.
 *
 * @example
 * boundedJson({ a: [1, 2] }, 16_384); // { text: '{\n  "a": [\n    1,\n    2\n  ]\n}', cut: false }
 */
export function boundedJson(value: unknown, max: number): { text: string; cut: boolean } {
  const out: string[] = [];
  let size = 0;
  let cut = false;
  const push = (s: string) => {
    if (cut) return;
    if (size + s.length > max) {
      out.push(cutText(s, max - size).text);
      size = max;
      cut = true;
      return;
    }
    out.push(s);
    size += s.length;
  };
  const walk = (v: unknown, indent: string, depth: number): void => {
    if (cut) return;
    if (v === null || typeof v !== 'object') {
      push(JSON.stringify(v) ?? 'null');
      return;
    }
    if (depth >= PRETTY_DEPTH) {
      // Compact from here; a stringify of a huge subtree is linear, and cut at once.
      let compact: string;
      try {
        compact = JSON.stringify(v) ?? 'null';
      } catch {
        // Too deep even for the engine's own stringify: shown as cut, the download has it whole.
        push('…');
        cut = true;
        return;
      }
      push(compact);
      return;
    }
    const pad = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return push('[]');
      push('[\n');
      for (let i = 0; i < v.length && !cut; i++) {
        push(pad);
        walk(v[i], pad, depth + 1);
        push(i < v.length - 1 ? ',\n' : '\n');
      }
      push(`${indent}]`);
      return;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined && typeof x !== 'function');
    if (entries.length === 0) return push('{}');
    push('{\n');
    for (let i = 0; i < entries.length && !cut; i++) {
      const [k, x] = entries[i]!;
      push(`${pad}${JSON.stringify(k)}: `);
      walk(x, pad, depth + 1);
      push(i < entries.length - 1 ? ',\n' : '\n');
    }
    push(`${indent}}`);
  };
  walk(value, '', 0);
  return { text: out.join(''), cut };
}

/** Lines of the agent's reason a preview shows before "show more". */
export const PREVIEW_LINES = 8;

/**
 * The start of a long text for a preview: at most `maxChars` characters and
 * `maxLines` lines, so neither a long line nor hundreds of short ones push
 * what follows out of sight.
 *
 * @example
 * previewText('a\nb\nc', 300, 2); // { text: 'a\nb', cut: true }
 */
export function previewText(text: string, maxChars: number, maxLines: number): { text: string; cut: boolean } {
  const chars = cutText(text, maxChars);
  let at = -1;
  for (let i = 0; i < maxLines; i++) {
    at = chars.text.indexOf('\n', at + 1);
    if (at < 0) return chars;
  }
  return { text: chars.text.slice(0, at), cut: true };
}
