/**
 * CEL's `matches()` as the spec defines it: RE2 syntax and semantics, a
 * match anywhere in the string unless anchored. RE2 runs in time linear in
 * the input whatever the pattern, so an agent's string cannot make a rule
 * backtrack for seconds; and it reads RE2's dialect (`(?i)`, `(?s)`; `.` is
 * any character but `\n`) where JavaScript's RegExp reads another. Patterns
 * RE2 refuses (backreferences, lookaround) are errors. Compiled patterns are
 * kept in a bounded least-recently-used cache, since most patterns are the
 * literals of the policy and the dynamic ones repeat.
 */
import { RE2JS } from 're2js';

const CACHE_SIZE = 256;
const cache = new Map<string, RE2JS>();

/** Why a pattern is not RE2, or null when it compiles. */
export function re2Problem(pattern: string): string | null {
  try {
    compiled(pattern);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function compiled(pattern: string): RE2JS {
  const hit = cache.get(pattern);
  if (hit) {
    cache.delete(pattern);
    cache.set(pattern, hit);
    return hit;
  }
  const re = RE2JS.compile(pattern);
  cache.set(pattern, re);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return re;
}

/**
 * Whether `pattern` matches somewhere in `text`. Throws when the pattern is not valid RE2.
 *
 * @example
 * re2Matches('a\rb', '^a.b$'); // true: RE2's `.` matches `\r`
 */
export function re2Matches(text: string, pattern: string): boolean {
  return compiled(pattern).test(text);
}
