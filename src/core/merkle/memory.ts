/**
 * A `SubtreeSource` over leaf hashes held in memory, for tests and for the
 * offline bundle verifier. Perfect subtrees of 16 leaves and up are memoised
 * in one flat buffer per level (about 32 bytes per 8 leaves in all); smaller
 * ones are recomputed, at most 15 hashes, which costs less than keeping them.
 */
import { HASH_SIZE, nodeHash } from './hash.ts';
import type { SubtreeSource } from './tree.ts';

const MEMO_FROM_LEVEL = 4;

/**
 * Reads `leafHashes` as the log; later changes to the array are not seen.
 *
 * @example
 * rootAt(memorySource(events.map((e) => leafHash(e.body))), events.length);
 */
export function memorySource(leafHashes: readonly Uint8Array[]): SubtreeSource {
  const count = leafHashes.length;
  const rows: { hashes: Uint8Array; known: Uint8Array }[] = [];

  function compute(level: number, index: number): Uint8Array {
    if (level === 0) {
      const leaf = leafHashes[index];
      if (leaf === undefined) throw new RangeError(`leaf ${index} is missing`);
      return leaf;
    }
    if (level < MEMO_FROM_LEVEL) return nodeHash(compute(level - 1, 2 * index), compute(level - 1, 2 * index + 1));
    let row = rows[level];
    if (row === undefined) {
      const width = Math.floor(count / 2 ** level);
      row = { hashes: new Uint8Array(width * HASH_SIZE), known: new Uint8Array(width) };
      rows[level] = row;
    }
    const at = index * HASH_SIZE;
    if (row.known[index] !== 1) {
      row.hashes.set(nodeHash(compute(level - 1, 2 * index), compute(level - 1, 2 * index + 1)), at);
      row.known[index] = 1;
    }
    return row.hashes.subarray(at, at + HASH_SIZE);
  }

  return {
    perfect(level, index) {
      if (!Number.isSafeInteger(level) || !Number.isSafeInteger(index) || level < 0 || index < 0 || (index + 1) * 2 ** level > count) {
        throw new RangeError(`no perfect subtree at level ${level} index ${index} in a log of ${count}`);
      }
      // A copy: the memo must not change if a caller writes to what it got.
      return level >= MEMO_FROM_LEVEL ? compute(level, index).slice() : compute(level, index);
    },
  };
}
