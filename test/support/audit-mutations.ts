/**
 * Random logs and random single changes to their event lines (flip a byte,
 * drop, swap, insert, truncate), for the property tests of bundle verifiers.
 */
import fc from 'fast-check';

export type Mutation =
  | { kind: 'flip'; line: number; target: 'any' | 'prev' | 'seq'; pos: number; ch: string }
  | { kind: 'drop'; line: number }
  | { kind: 'swap'; line: number }
  | { kind: 'insert'; copy: number; at: number }
  | { kind: 'truncate'; k: number };

const charArb = fc.oneof(fc.constantFrom(...'0123456789abcdef'), fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom('"', '\\', '{', '}', ',', ':', ' ', '-', 'é', '\u2014'));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), line: fc.nat(), target: fc.constantFrom('any' as const, 'prev' as const, 'seq' as const), pos: fc.nat(), ch: charArb }),
  fc.record({ kind: fc.constant('drop' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), copy: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), k: fc.nat() }),
);

/** Where in a line a flip lands: anywhere, or inside the value of "prev" or of "seq". */
function flipPosition(line: string, target: 'any' | 'prev' | 'seq', pos: number): number {
  if (target === 'any') return pos % line.length;
  const start = line.indexOf(target === 'prev' ? '"prev":"' : '"seq":') + (target === 'prev' ? 8 : 6);
  const length = target === 'prev' ? 64 : /^\d+/.exec(line.slice(start))![0].length;
  return start + (pos % length);
}

/** The event lines after one mutation, or null when it does not apply (a swap needs two lines). */
export function mutate(lines: readonly string[], m: Mutation): string[] | null {
  const out = [...lines];
  const n = lines.length;
  switch (m.kind) {
    case 'flip': {
      const i = m.line % n;
      const line = lines[i]!;
      const at = flipPosition(line, m.target, m.pos);
      const was = line[at]!;
      const ch = m.ch === was ? String.fromCharCode(was.charCodeAt(0) ^ 1) : m.ch;
      out[i] = line.slice(0, at) + ch + line.slice(at + 1);
      return out;
    }
    case 'drop':
      out.splice(m.line % n, 1);
      return out;
    case 'swap': {
      if (n < 2) return null;
      const i = m.line % (n - 1);
      [out[i], out[i + 1]] = [lines[i + 1]!, lines[i]!];
      return out;
    }
    case 'insert':
      out.splice(m.at % (n + 1), 0, lines[m.copy % n]!);
      return out;
    case 'truncate':
      return out.slice(0, n - 1 - (m.k % n));
  }
}

/** The seq of the first line that is not what it was: the first event a reader can no longer trust. */
export function firstAffected(before: readonly string[], after: readonly string[], first: number): number {
  let i = 0;
  while (i < before.length && i < after.length && before[i] === after[i]) i++;
  return first + i;
}

export const bundleCaseArb = fc
  .array(fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 3 }), { minLength: 1, maxLength: 60 })
  .chain((ds) =>
    fc
      .tuple(fc.integer({ min: 1, max: ds.length }), fc.integer({ min: 1, max: ds.length }))
      .chain(([a, b]) => {
        const [first, last] = a <= b ? [a, b] : [b, a];
        const within = Array.from({ length: last - first + 1 }, (_, i) => first + i);
        return fc.record({ ds: fc.constant(ds), first: fc.constant(first), last: fc.constant(last), sizes: fc.subarray(within), mutation: mutationArb });
      }),
  );

