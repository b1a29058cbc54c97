/** Percent-decoding that never throws: text that is not valid percent-encoding is what it says. */

/**
 * `decodeURIComponent`, or the text unchanged where it is not valid percent-encoding (a lone `%`, a broken UTF-8 sequence).
 *
 * @example
 * decodeURIComponentOr('a%20b'); // 'a b'
 * decodeURIComponentOr('100%'); // '100%'
 */
export function decodeURIComponentOr(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Whether a run of percent-escapes in the text does not decode as strict UTF-8 (`%FF`, a surrogate `%ED%A0%80`, an
 * overlong `%C0%AE`): URLSearchParams reads such bytes as U+FFFD, qs (Express) keeps them as written, PHP gets the bytes.
 *
 * @example
 * hasNonUtf8Escape('a=%C3%A9'); // false
 * hasNonUtf8Escape('a=%FF'); // true
 */
export function hasNonUtf8Escape(text: string): boolean {
  for (const [run] of text.matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    try {
      decodeURIComponent(run);
    } catch {
      return true;
    }
  }
  return false;
}
