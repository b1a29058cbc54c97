/**
 * A verdict on one line of ours, whatever the checked files say: a bundle's
 * manifest, or a store handed over for checking, is anyone's to write, and
 * its origin, a file name it lists or a field of an edited event lands in the
 * verdict. A newline there would start a line of its own (`bundle OK: …`), an
 * escape sequence rewrite the one above; every control, newline and tab
 * included, and every hidden character is named instead (`\n`, `\x1b`).
 */
import { replaceHidden } from '../core/visible-text.ts';

const named = (c: string): string => {
  const n = c.codePointAt(0) ?? 0;
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
};

/**
 * @example
 * verdictLine('bundle FAILED at the bundle: x\nbundle OK'); // 'bundle FAILED at the bundle: x\\x0abundle OK\n'
 */
export function verdictLine(text: string): string {
  return `${replaceHidden(text, named).replace(/[\n\t]/g, named)}\n`;
}
