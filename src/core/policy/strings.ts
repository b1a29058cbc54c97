/**
 * CEL's string functions where the library's differ from the spec: CEL
 * counts in code points, JavaScript's indexOf/substring/split in UTF-16
 * units, so a string with a character beyond the BMP (an emoji an agent put
 * in a path) would shift every index a rule compares. And the case functions
 * of CEL change ASCII letters only (`"İ".lowerAscii()` is `"İ"`).
 */

class CelStringError extends Error {
  override readonly name = 'EvaluationError';
}

const codePoints = (s: string): string[] => Array.from(s);

/** The UTF-16 offset of code point `i` of `s`. */
function unitOffset(s: string, i: number): number {
  let units = 0;
  let n = 0;
  for (const c of s) {
    if (n++ === i) return units;
    units += c.length;
  }
  return units;
}

/** The code-point index of UTF-16 offset `u` of `s` (u at a code point boundary). */
function pointIndex(s: string, u: number): bigint {
  return BigInt(codePoints(s.slice(0, u)).length);
}

function offsetArg(s: string, i: bigint, what: string, allowEnd: boolean): number {
  const size = codePoints(s).length;
  if (i < 0n || i > BigInt(size) || (!allowEnd && i >= BigInt(size))) throw new CelStringError(`${what}: index out of range: ${i}`);
  return Number(i);
}

export function asciiCase(s: string, upper: boolean): string {
  return upper ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function indexOf(s: string, sub: string, from = 0n): bigint {
  const start = offsetArg(s, from, 'indexOf', true);
  const u = s.indexOf(sub, unitOffset(s, start));
  return u < 0 ? -1n : pointIndex(s, u);
}

export function lastIndexOf(s: string, sub: string, from?: bigint): bigint {
  if (from === undefined) {
    const u = s.lastIndexOf(sub);
    return u < 0 ? -1n : pointIndex(s, u);
  }
  const start = offsetArg(s, from, 'lastIndexOf', sub === '');
  const u = s.lastIndexOf(sub, unitOffset(s, start));
  return u < 0 ? -1n : pointIndex(s, u);
}

export function substring(s: string, start: bigint, end?: bigint): string {
  const points = codePoints(s);
  const size = BigInt(points.length);
  const e = end ?? size;
  if (start < 0n || start > size) throw new CelStringError(`substring: start index out of range: ${start}`);
  if (e < start || e > size) throw new CelStringError(`substring: end index out of range: ${e}`);
  return points.slice(Number(start), Number(e)).join('');
}

export function split(s: string, sep: string, limit?: bigint): string[] {
  if (limit === 0n) return [];
  const parts = sep === '' ? codePoints(s) : s.split(sep);
  if (limit === undefined || limit < 0n || BigInt(parts.length) <= limit) return parts;
  const n = Number(limit);
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

// Go's unicode.IsSpace, which the strings extension's trim() uses (strings.TrimSpace). JavaScript's trim()
// leaves U+0085 (NEL) and trims U+FEFF, which is not white space.
const SPACE = new Set([...'\t\n\v\f\r \u0085\u00A0\u1680\u2028\u2029\u202F\u205F\u3000'].map((c) => c.charCodeAt(0)));
for (let c = 0x2000; c <= 0x200a; c++) SPACE.add(c);

export function trim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && SPACE.has(s.charCodeAt(start))) start++;
  while (end > start && SPACE.has(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/**
 * Orders strings by code point, as CEL does (its strings are UTF-8, whose
 * byte order is code point order); JavaScript's `<` compares UTF-16 units,
 * which puts every character beyond the BMP (a surrogate pair) before
 * U+E000..U+FFFF.
 *
 * @example
 * compareCodePoints('\uFFFF', '😀'); // -1
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Lift surrogates above the rest of the BMP; their relative order is already code point order.
      const rank = (u: number) => (u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u);
      return rank(x) < rank(y) ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
