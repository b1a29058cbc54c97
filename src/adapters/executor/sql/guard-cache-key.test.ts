/** The session check cache's key (guard-cache.ts): the bytes it hashes, and what tells two checks apart. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKey } from './guard-cache.ts';

/** The key as first written: a Hash object fed the mode, then a NUL and each value. */
function keyPieceByPiece(readOnly: boolean, values: readonly string[]): string {
  const h = createHash('sha256').update(readOnly ? 'r' : 'w');
  for (const v of values) h.update('\u0000').update(v);
  return h.digest('base64');
}

describe('cacheKey', () => {
  it('hashes the mode, then a NUL before each value, as UTF-8', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.string({ unit: 'binary' }), { maxLength: 8 }), (readOnly, values) => {
        expect(cacheKey(readOnly, values)).toBe(keyPieceByPiece(readOnly, values));
      }),
      { numRuns: 500 },
    );
  });

  it('tells a read from a write, and values split differently, apart', () => {
    expect(cacheKey(true, ['{a}', '{}'])).not.toBe(cacheKey(false, ['{a}', '{}']));
    expect(cacheKey(true, ['{ab}', ''])).not.toBe(cacheKey(true, ['{a', 'b}']));
  });
});
