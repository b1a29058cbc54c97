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
interface Compiled {
  readonly re: RE2JS;
  /** Instructions of the compiled program: a match costs up to this much per character of input. */
  readonly size: number;
}
const cache = new Map<string, Compiled>();

function programSize(re: RE2JS, pattern: string): number {
  // re2js keeps the program on an internal field; if it moves, assume a large program rather than a small one.
  const inst = (re as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog?.inst;
  return Array.isArray(inst) ? inst.length : 16 * pattern.length + 1000;
}

/** Why a pattern is not RE2, or null when it compiles. */
export function re2Problem(pattern: string): string | null {
  try {
    compiled(pattern);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function compiled(pattern: string): Compiled {
  const hit = cache.get(pattern);
  if (hit) {
    cache.delete(pattern);
    cache.set(pattern, hit);
    return hit;
  }
  const re = RE2JS.compile(pattern);
  const entry = { re, size: programSize(re, pattern) };
  cache.set(pattern, entry);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return entry;
}

/**
 * Whether `pattern` matches somewhere in `text`. Throws when the pattern is
 * not valid RE2. `charge` is told the work the match may take (program size
 * times input length, a bound linear in each) before it runs, and may throw
 * to refuse it: a match cannot be interrupted once started.
 *
 * @example
 * re2Matches('a\rb', '^a.b$'); // true: RE2's `.` matches `\r`
 */
export function re2Matches(text: string, pattern: string, charge: (work: number) => void = () => {}): boolean {
  const { re, size } = compiled(pattern);
  charge(size * text.length);
  return re.test(text);
}
