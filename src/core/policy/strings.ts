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
