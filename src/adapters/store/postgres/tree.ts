/**
 * The Merkle tree over the audit log, in `merkle_nodes`: every perfect
 * subtree (leaves included) is stored once, by the transaction that appends
 * the event completing it, so a root or a proof reads O(log n) rows in one
 * query. The core's RFC 6962 code reads nodes synchronously, so each answer
 * is computed twice: once to learn which nodes it reads (which depends only
 * on the sizes), then over the rows fetched in one round trip.
 *
 * The right edge is cached in memory and trusted only when it ends at the
 * log's head (same size and same last event hash): another replica that
 * appended, or a rolled-back write, makes it rebuild from the rows.
 */
import { Frontier, leafHash, rootAt, rightEdge, inclusionProof, consistencyProof, toHex, type SubtreeSource } from '../../../core/merkle/index.ts';
import type { Run } from './pool.ts';

export interface Head {
  readonly seq: number;
  readonly hash: string;
}

export interface PgTree {
  /**
   * Inside the transaction holding the audit head, whose head is `prev`: adds the leaves of `events` and returns the
   * nodes they complete, for the caller to write (and to call `invalidate` if that fails).
   */
  nodes(run: Run, prev: Head, events: readonly { seq: number; body: string; hash: string }[]): Promise<NewNodes>;
  /** Forgets the cached edge (a write that added leaves to it rolled back). */
  invalidate(): void;
  /** Root at `size`; `head` (the committed head when size is the log's length) lets the cached edge answer. */
  rootHex(run: Run, size: number, head?: Head): Promise<string>;
  inclusionHex(run: Run, index: number, size: number): Promise<string[]>;
  consistencyHex(run: Run, from: number, to: number): Promise<string[]>;
  edge(run: Run, size: number): Promise<{ level: number; index: number; hash: string }[]>;
}

export interface NewNodes {
  readonly levels: number[];
  readonly indexes: number[];
  readonly hashes: Buffer[];
}

const ZERO = new Uint8Array(32);
const FETCH = {
  name: 'cs_merkle_fetch',
  text: 'SELECT n.level, n.idx, n.hash FROM merkle_nodes n JOIN unnest($1::int[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx',
};

/** Runs `compute` over the nodes it needs, fetched in one query. */
async function withNodes<T>(run: Run, compute: (source: SubtreeSource) => T): Promise<T> {
  const wanted = new Map<string, { level: number; index: number }>();
  compute({
    perfect(level, index) {
      wanted.set(`${level}:${index}`, { level, index });
      return ZERO;
    },
  });
  const have = new Map<string, Uint8Array>();
  if (wanted.size > 0) {
    const list = [...wanted.values()];
    const { rows } = await run<{ level: number; idx: number; hash: Buffer }>(FETCH, [list.map((n) => n.level), list.map((n) => n.index)]);
    for (const r of rows) have.set(`${r.level}:${r.idx}`, new Uint8Array(r.hash.buffer, r.hash.byteOffset, r.hash.byteLength));
  }
  return compute({
    perfect(level, index) {
      const hash = have.get(`${level}:${index}`);
      if (!hash) throw new Error(`the audit tree has no node ${level}/${index}: the store is damaged`);
      return hash;
    },
  });
}

export function createTree(): PgTree {
  let frontier: Frontier | undefined;
  let frontierHead = '';

  return {
    async nodes(run, prev, events) {
      if (!frontier || frontier.size !== prev.seq || frontierHead !== prev.hash) {
        frontier = undefined;
        frontier = await withNodes(run, (source) => Frontier.from({ size: prev.seq, source }));
        frontierHead = prev.hash;
      }
      const levels: number[] = [];
      const indexes: number[] = [];
      const hashes: Buffer[] = [];
      for (const e of events) {
        for (const n of frontier.append(leafHash(e.body)).newNodes) {
          levels.push(n.level);
          indexes.push(n.index);
          hashes.push(Buffer.from(n.hash));
        }
      }
      if (events.length > 0) frontierHead = events[events.length - 1]!.hash;
      return { levels, indexes, hashes };
    },
    invalidate() {
      frontier = undefined;
    },
    async rootHex(run, size, head) {
      if (frontier && head && frontier.size === size && head.seq === size && frontierHead === head.hash) return toHex(frontier.root());
      return toHex(await withNodes(run, (source) => rootAt(source, size)));
    },
    inclusionHex: async (run, index, size) => (await withNodes(run, (source) => inclusionProof(source, index, size))).map(toHex),
    consistencyHex: async (run, from, to) => (await withNodes(run, (source) => consistencyProof(source, from, to))).map(toHex),
    edge: (run, size) => withNodes(run, (source) => rightEdge(size).map((n) => ({ ...n, hash: toHex(source.perfect(n.level, n.index)) }))),
  };
}
