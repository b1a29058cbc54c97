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
