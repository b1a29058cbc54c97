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
import { bundleCaseArb as caseArb, firstAffected, mutate } from '../../test/support/audit-mutations.ts';

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
