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
const pinned = new Map<string, Compiled>();

function programSize(re: RE2JS, pattern: string): number {
  // re2js keeps the program on an internal field; if it moves, assume a large program rather than a small one.
  const inst = (re as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog?.inst;
  return Array.isArray(inst) ? inst.length : 16 * pattern.length + 1000;
}

/** Why a pattern is not RE2, or null when it compiles (and then it stays compiled: for a policy's literal patterns). */
export function re2Problem(pattern: string): string | null {
  try {
    // A policy's own patterns stay compiled: an agent's patterns cannot evict them (and make them charged again).
    if (!pinned.has(pattern)) pinned.set(pattern, compiled(pattern));
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * An upper bound on the instructions of the program `pattern` compiles to,
 * read from its text in one pass: a counted repetition `x{n,m}` copies x up
 * to m times (`a{1000}` is 1000 instructions from 7 characters), and
 * compiling costs tens of microseconds an instruction, so a pattern an agent
 * sends (`matches(action.input.re)`) could stall evaluation for seconds
 * before the match is even charged. Overestimates (a class counts its
 * characters), never under.
 */
export function programBound(pattern: string): number {
  const frames: { total: number; last: number }[] = [{ total: 0, last: 0 }];
  let top = frames[0]!;
  // `size` is what reading the atom costs, `copy` what each repetition of it adds (a class is one instruction).
  const atom = (size: number, copy = size) => {
    top.total += size;
    top.last = copy;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const start = i;
      const next = pattern[++i];
      if (next === 'Q') {
        const end = pattern.indexOf('\\E', i);
        i = end < 0 ? pattern.length : end + 1;
      } else if ((next === 'x' || next === 'p' || next === 'P') && pattern[i + 1] === '{') {
        const end = pattern.indexOf('}', i);
        i = end < 0 ? pattern.length : end;
      }
      atom(i - start + 1, 1);
    } else if (c === '[') {
      const start = i;
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      for (; i < pattern.length && pattern[i] !== ']'; i++) {
        if (pattern[i] === '\\') i++;
        else if (pattern[i] === '[' && pattern[i + 1] === ':') {
          const end = pattern.indexOf(':]', i + 2);
          if (end >= 0) i = end + 1;
        }
      }
      atom(i - start + 1, 1);
    } else if (c === '(') {
      top = { total: 0, last: 0 };
      frames.push(top);
    } else if (c === ')' && frames.length > 1) {
      const inner = frames.pop()!;
      top = frames[frames.length - 1]!;
      atom(inner.total + 2);
    } else if (c === '|') {
      top.total += 1;
      top.last = 0;
    } else if (c === '{') {
      const m = /^\{([0-9]+)(?:(,)([0-9]*))?\}/.exec(pattern.slice(i, i + 24));
      if (!m) {
        atom(1);
        continue;
      }
      const times = Math.max(Number(m[1]), m[3] ? Number(m[3]) : 1) + 1;
      top.total += top.last * times + 1;
      top.last *= times;
      i += m[0].length - 1;
    } else {
      atom(1);
    }
  }
  while (frames.length > 1) {
    const inner = frames.pop()!;
    frames[frames.length - 1]!.total += inner.total + 2;
  }
  return frames[0]!.total + 2;
}

// Compiling costs about 25 µs an instruction on re2js, a step of the budget about a quarter of a microsecond.
const COMPILE_STEPS_PER_INSTRUCTION = 128;

function compiled(pattern: string, charge?: (work: number) => void): Compiled {
  const literal = pinned.get(pattern);
  if (literal) return literal;
  const hit = cache.get(pattern);
  if (hit) {
    cache.delete(pattern);
    cache.set(pattern, hit);
    return hit;
  }
  // A compile cannot be interrupted: it is charged (in units of regex work, 16 a step) before it starts.
  charge?.(16 * COMPILE_STEPS_PER_INSTRUCTION * programBound(pattern));
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
  const { re, size } = compiled(pattern, charge);
  charge(size * text.length);
  return re.test(text);
}
