/**
 * Which perfect subtrees of the audit log's Merkle tree the stores keep in
 * `merkle_nodes`, and how they rebuild the others: only subtrees of
 * 2^STORED_FROM_LEVEL leaves and up are rows. A smaller one is rehashed
 * from the bodies of its events (leaf index i is the event of seq i + 1), at
 * most 2^STORED_FROM_LEVEL - 1 leaf hashes and as many node hashes.
 *
 * Why: storing every subtree wrote about two rows per event (the leaf and,
 * on average, one parent), on the path of every write; from level 4 up it is
 * one row per 8 events, about 14.5 µs of CPU less per event appended
 * (`npm run bench:audit`, BENCHMARKS.md). A root, a proof or the rebuild of
 * the right edge needs few of the small subtrees, all in one or two blocks of
 * 16 events (a proven leaf's own block, the last block of the tree): at most
 * about 30 event bodies read and hashed, ~50–65 µs per block here. Each level
 * higher would halve the rows again (level 5: 0.5 µs per event less) and
 * double that rehash, paid by every proof and by every append after another
 * replica or process appended.
 *
 * Nothing is trusted less: the rows were never signed, and whoever can change
 * an event can change them too. What proves the log is its signed
 * checkpoints, whose roots `audit verify` recomputes from the events, and the
 * chain, which names a changed event either way. A changed body now also
 * changes the roots and proofs that rehash it (a stored leaf hash used to
 * hide it), and a missing event makes them fail instead of answering for
 * another log.
 *
 * Stores written when every level was kept still hold the small rows; they
 * are not read, and harm nothing. The level may be raised without migrating;
 * lowering it would need the missing rows written first.
 */
import { createFrontier, leafHash, type SubtreeSource } from '../../core/merkle/index.ts';

/** The lowest level kept as a row: 2^4 = 16 events per smallest stored subtree. */
export const STORED_FROM_LEVEL = 4;

/** True when the store keeps the perfect subtrees of this level as rows. */
export function isStored(level: number): boolean {
  return level >= STORED_FROM_LEVEL;
}

/** The events (first and last seq, inclusive) whose bodies are the leaves of a perfect subtree. */
export function leafSeqs(level: number, index: number): { first: number; last: number } {
  const span = 2 ** level;
  return { first: index * span + 1, last: (index + 1) * span };
}

/**
 * RFC 6962 hash of the perfect subtree at `level`/`index`, from its events'
 * bodies. A missing event is a damaged store (events are never deleted), and
 * throws rather than hash a different tree.
 *
 * @example
 * subtreeFromBodies(2, 1, (seq) => bodies.get(seq)); // MTH of the events 5–8
 */
export function subtreeFromBodies(level: number, index: number, body: (seq: number) => string | undefined): Uint8Array {
  const { first, last } = leafSeqs(level, index);
  // A perfect subtree's root is the frontier's root once all its leaves are in.
  const frontier = createFrontier();
  for (let seq = first; seq <= last; seq++) {
    const b = body(seq);
    if (b === undefined) throw new Error(`the audit log has no event ${seq} for Merkle node ${level}/${index}: the store is damaged`);
    frontier.push(leafHash(b));
  }
  return frontier.root();
}

/** What one computation over a `SubtreeSource` reads: stored rows, and the events of the subtrees rebuilt. */
export interface TreeReads {
  readonly nodes: { level: number; index: number }[];
  readonly seqs: number[];
}

/**
 * Runs `compute` once over a source that only records what it asks for (the
 * nodes an RFC 6962 computation reads depend only on the sizes), so a store
 * can fetch all of it at once and then run `compute` again over `sparseSource`.
 *
 * @example
 * const reads = planReads((src) => rootAt(src, size)); // fetch reads.nodes and reads.seqs, then compute again
 */
export function planReads(compute: (source: SubtreeSource) => unknown): TreeReads {
  const nodes = new Map<string, { level: number; index: number }>();
  const seqs = new Set<number>();
  const ZERO = new Uint8Array(32);
  compute({
    perfect(level, index) {
      if (isStored(level)) {
        nodes.set(`${level}:${index}`, { level, index });
      } else {
        const { first, last } = leafSeqs(level, index);
        for (let seq = first; seq <= last; seq++) seqs.add(seq);
      }
      return ZERO;
    },
  });
  return { nodes: [...nodes.values()], seqs: [...seqs] };
}

/**
 * A source over the stored rows at the kept levels and event bodies for the
 * rest: `bodies(first, last)` gives (at least) the events of that seq range.
 * A missing row is a damaged store, as a missing event is.
 *
 * @example
 * rootAt(sparseSource((l, i) => rows.get(`${l}:${i}`), () => fetchedBodies), size);
 */
export function sparseSource(
  node: (level: number, index: number) => Uint8Array | undefined,
  bodies: (first: number, last: number) => ReadonlyMap<number, string>,
): SubtreeSource {
  return {
    perfect(level, index) {
      if (!isStored(level)) {
        const { first, last } = leafSeqs(level, index);
        const events = bodies(first, last);
        return subtreeFromBodies(level, index, (seq) => events.get(seq));
      }
      const hash = node(level, index);
      if (!hash) throw new Error(`the audit tree has no node ${level}/${index}: the store is damaged`);
      return hash;
    },
  };
}
