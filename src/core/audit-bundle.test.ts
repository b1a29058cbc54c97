/**
 * Offline bundle verification on bundles built in memory: a valid bundle
 * verifies from its first event or from the middle of the log; a forged
 * signature, a foreign key or a foreign origin is refused naming the
 * checkpoint; and any single edit, deletion, reordering, insertion or
 * truncation of the event lines is refused naming the first event it touched.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyBundle, type BundleFiles, type BundleManifest } from './audit-bundle.ts';
import { eventLines, makeBundle, makeLog, newLogKey, noteFile, signCheckpointAt, withLines } from '../../test/support/audit-log.ts';

const key = newLogKey('countersign.test/unit');
const datas = (n: number) => Array.from({ length: n }, (_, i) => ({ step: i, note: `event ${i}` }));

describe('a bundle as exported', () => {
  it('verifies: every checkpoint signed and recomputed, events first to last', () => {
    const events = makeLog(datas(20));
    const report = verifyBundle(makeBundle(events, key, { sizes: [3, 8, 13] }));
    expect(report).toMatchObject({ ok: true, origin: key.origin, first: 1, last: 20, events: 20, problem: null });
    expect(report.verifiedCheckpoints).toEqual([3, 8, 13, 20]);
  });

  it('verifies when it starts in the middle of the log, from the prefix subtrees alone', () => {
    const events = makeLog(datas(20));
    const report = verifyBundle(makeBundle(events, key, { first: 6, last: 17, sizes: [8, 13] }));
    expect(report).toMatchObject({ ok: true, first: 6, last: 17, events: 12, problem: null });
    expect(report.verifiedCheckpoints).toEqual([8, 13, 17]);
  });

  it('names the edited event when one event body changes', () => {
    const events = makeLog(datas(10));
    const files = makeBundle(events, key, { sizes: [5] });
    const lines = eventLines(files);
    lines[6] = lines[6]!.replace('"event 6"', '"event 6, edited"');
    const report = verifyBundle(withLines(files, lines));
    expect(report.ok).toBe(false);
    expect(report.problem?.seq).toBe(7);
    expect(report.verifiedCheckpoints).toEqual([]);
  });

  it('names the edited event even when the manifest gives a wrong hash for the event before the bundle', () => {
    const events = makeLog(datas(12));
    const files = makeBundle(events, key, { first: 5 });
    // What an export writes when the store lost event 4: the next row's hash. The roots never cover it.
    const manifest = JSON.parse(files.manifest) as BundleManifest;
    manifest.prefix.prevHash = events[4]!.hash;
    const lines = eventLines(files);
    lines[3] = lines[3]!.replace('"event 7"', '"event 7, edited"');
    const report = verifyBundle({ ...withLines(files, lines), manifest: JSON.stringify(manifest) });
    expect(report).toMatchObject({ ok: false, problem: { seq: 8 } });
  });
});

describe('the checkpoints of a bundle', () => {
  const events = makeLog(datas(16));
  const files = makeBundle(events, key, { sizes: [4, 9] });
  const replaceNote = (size: number, text: string): BundleFiles => ({ ...files, notes: new Map(files.notes).set(noteFile(size), text) });

  it('refuses a signature changed by one base64 character, naming that checkpoint', () => {
    const note = files.notes.get(noteFile(9))!;
    const sigStart = note.lastIndexOf(' ') + 1;
    const at = sigStart + 20; // inside the signature bytes, past the 4-byte key ID
    const forged = note.slice(0, at) + (note[at] === 'A' ? 'B' : 'A') + note.slice(at + 1);
    const report = verifyBundle(replaceNote(9, forged));
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ checkpoint: 9 });
    expect(report.problem?.message).toMatch(/does not verify/);
  });

  it('refuses checkpoints when keys.txt holds another key of the same name', () => {
    const report = verifyBundle({ ...files, keys: `${newLogKey(key.origin).verifier}\n` });
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ checkpoint: 4 });
    expect(report.problem?.message).toMatch(/no known key signed/);
  });

  it('refuses a checkpoint signed by the right key for another origin', () => {
    const report = verifyBundle(replaceNote(9, signCheckpointAt(events, 9, key, 'countersign.test/other-log')));
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ checkpoint: 9 });
    expect(report.problem?.message).toContain('countersign.test/other-log');
  });

  it('refuses a checkpoint note moved to another size', () => {
    const report = verifyBundle(replaceNote(9, files.notes.get(noteFile(4))!));
    expect(report).toMatchObject({ ok: false, problem: { checkpoint: 9 } });
  });
});

type Mutation =
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
function mutate(lines: readonly string[], m: Mutation): string[] | null {
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
function firstAffected(before: readonly string[], after: readonly string[], first: number): number {
  let i = 0;
  while (i < before.length && i < after.length && before[i] === after[i]) i++;
  return first + i;
}

const caseArb = fc
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

describe('any single change to the event lines', () => {
  it('is refused, naming the first event it touched; the unchanged bundle verifies', () => {
    fc.assert(
      fc.property(caseArb, ({ ds, first, last, sizes, mutation }) => {
        const files = makeBundle(makeLog(ds), key, { first, last, sizes });
        const clean = verifyBundle(files);
        expect(clean).toMatchObject({ ok: true, first, last, events: last - first + 1, problem: null });

        const lines = eventLines(files);
        const changed = mutate(lines, mutation);
        fc.pre(changed !== null);
        const report = verifyBundle(withLines(files, changed));
        expect(report.ok).toBe(false);
        expect(report.problem?.seq).toBe(firstAffected(lines, changed, first));
      }),
      { numRuns: 200 },
    );
  });

  it('names the dropped, swapped, inserted and truncated positions as a reader would', () => {
    const files = makeBundle(makeLog(datas(12)), key, { first: 3, sizes: [6, 9] });
    const lines = eventLines(files); // seqs 3..12
    const seqOf = (changed: string[]) => verifyBundle(withLines(files, changed)).problem?.seq;
    expect(seqOf(mutate(lines, { kind: 'drop', line: 4 })!)).toBe(7);
    expect(seqOf(mutate(lines, { kind: 'swap', line: 2 })!)).toBe(5);
    expect(seqOf(mutate(lines, { kind: 'insert', copy: 0, at: 5 })!)).toBe(8);
    expect(seqOf(mutate(lines, { kind: 'truncate', k: 2 })!)).toBe(10);
    expect(seqOf(mutate(lines, { kind: 'flip', line: 9, target: 'prev', pos: 0, ch: 'x' })!)).toBe(12);
  });
});
