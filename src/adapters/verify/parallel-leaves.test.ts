/**
 * The parallel verifier is the single-threaded one with leaf hashes from
 * worker threads: the same report for every bundle, changed or not, and
 * leaf hashes equal to the core's byte for byte (multi-byte UTF-8 included).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyBundle } from '../../core/audit-bundle.ts';
import { leafHash, toHex } from '../../core/merkle/index.ts';
import { eventLines, makeBundle, makeLog, newLogKey, withLines } from '../../../test/support/audit-log.ts';
import { bundleCaseArb, mutate } from '../../../test/support/audit-mutations.ts';
import { hashLeavesInParallel, verifyBundleInParallel } from './parallel-leaves.ts';

const key = newLogKey('countersign.test/parallel');
// Tiny chunks, so a few dozen events already spread over many chunks and both workers.
const opts = { threads: 2, minBytes: 0, chunkBytes: 300 } as const;

describe('leaf hashes from worker threads', () => {
  it('equal the core leafHash for every line, in order, across chunk boundaries', async () => {
    const lines = ['{"a":1}', '', 'é — ü', 'x'.repeat(5000), ...Array.from({ length: 200 }, (_, i) => `{"seq":${i},"note":"ünïcødé ${'z'.repeat(i % 37)}"}`)];
    const body = Buffer.from(lines.join('\n'), 'utf8');
    const leaves = await hashLeavesInParallel(body, { threads: 2, chunkBytes: 512 });
    try {
      lines.forEach((line, i) => expect(toHex(leaves.leafHash(i, Buffer.from(line)))).toBe(toHex(leafHash(Buffer.from(line, 'utf8')))));
      expect(() => leaves.leafHash(lines.length, Buffer.alloc(0))).toThrow(/past the/);
    } finally {
      await leaves.close();
    }
  });
});

describe('verifyBundleInParallel', () => {
  it('gives the same report as verifyBundle for random bundles and random single changes', async () => {
    await fc.assert(
      fc.asyncProperty(bundleCaseArb, async ({ ds, first, last, sizes, mutation }) => {
        const files = makeBundle(makeLog(ds), key, { first, last, sizes });
        const asBytes = (f: typeof files) => ({ ...f, events: Buffer.from(f.events as string, 'utf8') });
        const clean = await verifyBundleInParallel(asBytes(files), opts);
        expect(clean).toEqual(verifyBundle(files));
        expect(clean.ok).toBe(true);
        const changed = mutate(eventLines(files), mutation);
        fc.pre(changed !== null);
        const bad = withLines(files, changed);
        const report = await verifyBundleInParallel(asBytes(bad), opts);
        expect(report).toEqual(verifyBundle(bad));
        expect(report.ok).toBe(false);
      }),
      // Each verification starts its worker threads, most of this test's CPU: what is the parallel verifier's own (leaf
      // hashes across chunks and workers) is the same for every bundle, and verifyBundle's reports on the same cases
      // are held at 200 runs in core/audit-bundle.test.ts.
      { numRuns: 20 },
    );
    // 40 verifications, each starting worker threads: on a loaded 2-core machine that takes longer than the default.
  }, 120_000);
});
