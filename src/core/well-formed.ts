/**
 * Text that has a UTF-8 form. Whatever an agent sends leaves the gateway as
 * UTF-8 (an argv entry, a URL, a body, a SQL text or parameter, a Slack card,
 * a console page), and a lone UTF-16 surrogate (`"\ud800"`, valid in JSON) has
 * none: Node writes U+FFFD (EF BF BD) in its place, so what policy judged,
 * reviewers were shown and the audit log recorded would not be what ran, and
 * every such value would pass for any other. Inside JSON it goes escaped, and
 * readers disagree on it (JavaScript and Python keep the surrogate, Go's
 * encoding/json reads U+FFFD, serde_json refuses it). Such text is refused
 * where it enters, with INVALID_INPUT naming where it is.
 */
import { CountersignError } from './errors.ts';

// With the u flag, \p{Cs} matches only a surrogate that is not half of a pair.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether `text` is well-formed UTF-16 (String.prototype.isWellFormed, which ES2023 typings lack).
 *
 * @example
 * wellFormed('a\u{1F600}b'); // true
 * wellFormed('a\ud800b'); // false
 */
export function wellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * What JSON text cannot carry as the gateway will send it, found in one walk of `value` (with its own stack, visiting
 * values in document order): `illFormed`, the path of the first string or object key with a lone surrogate
 * (`root.key.0`; a key is named by the object that holds it, its keys looked at from last to first); `nonFinite`, the
 * path of a number JSON cannot hold (`1e400` parses to Infinity, which RFC 8785 cannot write, so it could be neither
 * digested nor chained into the audit log): the last one in document order. Null where there is none.
 *
 * @example
 * jsonDefects({ query: { name: ['ok', '\ud800'] }, n: Infinity }, 'input'); // { illFormed: 'input.query.name.1', nonFinite: 'input.n' }
 */
export function jsonDefects(value: unknown, root: string): { illFormed: string | null; nonFinite: string | null } {
  let illFormed: string | null = null;
  let nonFinite: string | null = null;
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (illFormed === null && LONE_SURROGATE.test(v)) illFormed = path;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) nonFinite = path;
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        if (illFormed === null && LONE_SURROGATE.test(k)) illFormed = `${path} (the name ${JSON.stringify(k)})`;
        stack.push([child, `${path}.${k}`]);
      }
    }
  }
  return { illFormed, nonFinite };
}

/**
 * The path of the first string, or object key, in `value` with a lone surrogate (see jsonDefects); null when there
 * is none.
 *
 * @example
 * illFormedAt({ query: { name: ['ok', '\ud800'] } }, 'input'); // 'input.query.name.1'
 */
export function illFormedAt(value: unknown, root: string): string | null {
  return jsonDefects(value, root).illFormed;
}

/** What INVALID_INPUT says of text with a lone surrogate at `path`. */
export function illFormedMessage(path: string): string {
  return `${path}: text with a lone surrogate (\\ud800–\\udfff not in a pair), which has no UTF-8 form: it would leave the gateway as U+FFFD, not as recorded`;
}

/**
 * Refuses text stored with a request and shown to reviewers (a reason) that has a lone surrogate: a page or card
 * would show U+FFFD in its place.
 *
 * @example
 * assertWellFormed('reason', 'rotate the key'); // returns
 */
export function assertWellFormed(field: string, text: string): void {
  if (wellFormed(text)) return;
  const issue = illFormedMessage(field);
  throw new CountersignError('INVALID_INPUT', `${field} is invalid: ${issue}`, { issues: [issue] });
}
