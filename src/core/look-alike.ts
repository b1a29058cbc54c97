/**
 * Names that read as other names. A reviewer reads `public.оrders` as the
 * orders table, but its first letter is Cyrillic: the statement acts on
 * another table (or function, path, tool) that the agent made to look like
 * the one the reviewer trusts. The characters are all visible, so
 * visible-text.ts lets them through; instead the review brief names the
 * risk. A word that mixes Latin letters with letters of a script drawn with
 * the same shapes (Cyrillic, Greek, Armenian, Cherokee, Coptic), or that
 * Unicode's compatibility folding (NFKC) changes (fullwidth `ｏ`, the `ﬁ`
 * ligature, superscripts), is a look-alike; a name wholly in one script
 * (`größe`, `заказы`) is not.
 */

// Scripts whose letters pass for Latin ones (Unicode TR39's confusables are mostly these).
const LATIN = /\p{Script=Latin}/u;
const LOOKS_LATIN = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}\p{Script=Coptic}]/u;
const WORDS = /[\p{L}\p{M}\p{N}_]+/gu;

/**
 * @example
 * isLookAlike('public.\u043erders'); // true: Cyrillic о among Latin letters
 * isLookAlike('public.größe');        // false
 */
export function isLookAlike(name: string): boolean {
  if (name.normalize('NFKC') !== name) return true;
  for (const [word] of name.matchAll(WORDS)) if (LATIN.test(word) && LOOKS_LATIN.test(word)) return true;
  return false;
}
