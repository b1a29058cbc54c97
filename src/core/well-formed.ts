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
 * The path of the first string, or object key, in `value` with a lone surrogate (`root.key.0`; a key is named by
 * the object that holds it); null when there is none. Walks with its own stack, as JSON.stringify visits values.
 *
 * @example
 * illFormedAt({ query: { name: ['ok', '\ud800'] } }, 'input'); // 'input.query.name.1'
 */
export function illFormedAt(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return path;
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        if (LONE_SURROGATE.test(k)) return `${path} (the name ${JSON.stringify(k)})`;
        stack.push([child, `${path}.${k}`]);
      }
    }
  }
  return null;
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
