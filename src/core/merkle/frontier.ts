/**
 * The right edge of the tree, kept while appending (a "compact range"): one
 * perfect subtree hash per binary digit of the size, O(log n) in all. Each
 * append does amortised O(1) node hashes and reports every perfect subtree it
 * completed, so a store can persist those it keeps and later answer
 * `SubtreeSource` lookups for proofs from them (the stores keep the larger
 * ones and rehash the small ones from the events).
 */
import { EMPTY_ROOT, isHash, nodeHash } from './hash.ts';
import type { SubtreeSource } from './tree.ts';

/** A perfect subtree: 2^level leaves starting at leaf `index * 2^level`. */
export interface FrontierNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

/** What to restore a frontier from: the persisted right-edge nodes, or any source. */
export type FrontierSeed = { readonly size: number; readonly nodes: Iterable<FrontierNode> } | { readonly size: number; readonly source: SubtreeSource };

/**
 * The perfect subtrees that make up the right edge of a tree of `size`
 * leaves, left (largest) to right: what a frontier needs to resume.
 *
 * @example
 * rightEdge(6); // [{ level: 2, index: 0 }, { level: 1, index: 2 }]
 */
export function rightEdge(size: number): { level: number; index: number }[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`no tree of size ${size}`);
  const edge: { level: number; index: number }[] = [];
  for (let span = 1, level = 0; span <= size; span *= 2, level++) {
    if (Math.floor(size / span) % 2 === 1) edge.push({ level, index: Math.floor(size / span) - 1 });
  }
  return edge.reverse();
}

/**
 * The append side of the log's tree: O(log n) memory however long the log.
 *
 * @example
 * const f = createFrontier();
 * for (const e of events) store.putNodes(f.append(leafHash(e.body)).newNodes);
 * f.root(); // the tree head at f.size
 */
export class Frontier {
  #size = 0;
  /** `#edge[level]` is the right-edge perfect subtree of 2^level leaves, when bit `level` of the size is set. */
  #edge: (Uint8Array | undefined)[] = [];

  /** Number of leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends one leaf hash; returns the nodes this completed, the leaf itself
   * (level 0) first, then each parent it closed, bottom up.
   *
   * @example
   * frontier.append(leafHash(event.body)).newNodes; // [{ level: 0, index: 7, hash }, { level: 1, index: 3, hash }, …]
   */
  append(leaf: Uint8Array): { newNodes: FrontierNode[] } {
    const index = this.#size;
    const newNodes: FrontierNode[] = [];
    this.#carry(leaf, 'append', (level, hash) => newNodes.push({ level, index: (index + 1) / 2 ** level - 1, hash }));
    return { newNodes };
  }

  /**
   * `append` without reporting the new nodes: for a verifier, which only
   * needs roots, no allocation per node.
   *
   * @example
   * for (const leaf of leaves) frontier.push(leaf);
   */
  push(leaf: Uint8Array): void {
    this.#carry(leaf, 'push');
  }

  /** Adds a leaf like incrementing a binary counter: each carry closes a perfect subtree, reported to `onNode` (the leaf first). */
  #carry(leaf: Uint8Array, op: string, onNode?: (level: number, hash: Uint8Array) => void): void {
    if (!isHash(leaf)) throw new TypeError(`${op} takes a 32-byte leaf hash`);
    onNode?.(0, leaf);
    let h = leaf;
    let level = 0;
    for (let left = this.#edge[level]; left !== undefined; left = this.#edge[level]) {
      this.#edge[level] = undefined;
      h = nodeHash(left, h);
      level++;
      onNode?.(level, h);
    }
    this.#edge[level] = h;
    this.#size++;
  }

  /**
   * The tree head at the current size (EMPTY_ROOT when empty): the edge folded from the right.
   *
   * @example
   * frontier.root(); // equals rootAt(src, frontier.size)
   */
  root(): Uint8Array {
    let acc: Uint8Array | undefined;
    for (const h of this.#edge) if (h !== undefined) acc = acc === undefined ? h : nodeHash(h, acc);
    return acc ?? EMPTY_ROOT;
  }

  /**
   * The current right edge, in `rightEdge(size)` order.
   *
   * @example
   * Frontier.from({ size: f.size, nodes: f.nodes() }); // an equal frontier
   */
  nodes(): FrontierNode[] {
    return rightEdge(this.#size).map(({ level, index }) => ({ level, index, hash: this.#edge[level] as Uint8Array }));
  }

  /**
   * Resumes appending at `size` from the right-edge nodes (extra nodes are
   * ignored; a missing one throws) or from any `SubtreeSource`.
   *
   * @example
   * const frontier = Frontier.from({ size: head.size, source: store.subtrees() });
   */
  static from(seed: FrontierSeed): Frontier {
    const edge = rightEdge(seed.size);
    let lookup: (level: number, index: number) => Uint8Array | undefined;
    if ('source' in seed) {
      lookup = (level, index) => seed.source.perfect(level, index);
    } else {
      const byKey = new Map<string, Uint8Array>();
      for (const n of seed.nodes) byKey.set(`${n.level}:${n.index}`, n.hash);
      lookup = (level, index) => byKey.get(`${level}:${index}`);
    }
    const f = new Frontier();
    for (const { level, index } of edge) {
      const h = lookup(level, index);
      if (!isHash(h)) throw new RangeError(`right-edge node level ${level} index ${index} is missing or not a 32-byte hash`);
      f.#edge[level] = h;
    }
    f.#size = seed.size;
    return f;
  }
}

/**
 * An empty frontier.
 *
 * @example
 * const f = createFrontier(); f.append(leafHash('a')); f.root(); // leafHash('a')
 */
export function createFrontier(): Frontier {
  return new Frontier();
}
