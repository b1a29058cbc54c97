/**
 * The Merkle tree over the audit log, in `merkle_nodes`: the perfect
 * subtrees of 16 leaves and up are stored once, by the transaction that
 * appends the event completing them; smaller ones are rehashed from the
 * events' bodies (../sparse-tree.ts says why). So a root or a proof reads
 * O(log n) rows and a few dozen events, in one query. The core's RFC 6962
 * code reads nodes synchronously, so each answer is computed twice: once to
 * learn which nodes and events it reads (which depends only on the sizes),
 * then over what one round trip fetched.
 *
 * The right edge is cached in memory and trusted only when it ends at the
 * log's head (same size and same last event hash). Each append also stores
 * it in the head row, so when another replica appended (or a write here
 * rolled back) it is taken up from the head just locked; only a head without
 * an edge for its size (a store written before edges were kept) makes it
 * rebuild from the rows and events.
 */
import { Frontier, leafHash, rootAt, rightEdge, inclusionProof, consistencyProof, toHex, type SubtreeSource } from '../../../core/merkle/index.ts';
import { isStored, planReads, sparseSource } from '../sparse-tree.ts';
import type { Run } from './pool.ts';

export interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** The head as locked for an append: with the right edge stored beside it, when it is for this size. */
export interface LockedHead extends Head {
  readonly edge: Buffer | null;
  readonly edgeSeq: number | null;
}

export interface PgTree {
  /**
   * Inside the transaction holding the audit head, whose head is `prev`: adds the leaves of `events` and returns the
   * nodes they complete at the stored levels, for the caller to write (and to call `invalidate` if that fails).
   */
  nodes(run: Run, prev: LockedHead, events: readonly { seq: number; body: string; hash: string }[]): Promise<NewNodes>;
  /** Whether the cached edge ends at `head`: `nodes` on it then reads nothing. */
  at(head: Head): boolean;
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
  /** The right edge after the events (their 32-byte hashes in `rightEdge` order), to store with the new head. */
  readonly edge: Buffer;
}

/** The frontier the head row stores, when it is there and for the head's size (else undefined: rebuild). */
function storedFrontier(head: LockedHead): Frontier | undefined {
  if (head.edge === null || head.edgeSeq !== head.seq) return undefined;
  const shape = rightEdge(head.seq);
  if (head.edge.length !== shape.length * 32) return undefined;
  return Frontier.from({
    size: head.seq,
    nodes: shape.map((n, i) => ({ ...n, hash: new Uint8Array(head.edge!.buffer, head.edge!.byteOffset + i * 32, 32) })),
  });
}

/** The stored nodes and the event bodies a computation reads, in one query. */
const FETCH = {
  name: 'cs_merkle_fetch',
  text: `SELECT n.level, n.idx, n.hash, NULL::bigint AS seq, NULL::text AS body
           FROM merkle_nodes n JOIN unnest($1::int[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx
         UNION ALL
         SELECT NULL, NULL, NULL, e.seq, e.body FROM audit_events e WHERE e.seq = ANY($3::bigint[])`,
};

type FetchRow = { level: number | null; idx: number | null; hash: Buffer | null; seq: number | null; body: string | null };

/** Runs `compute` over the nodes and events it needs, fetched in one query. */
async function withNodes<T>(run: Run, compute: (source: SubtreeSource) => T): Promise<T> {
  const reads = planReads(compute);
  const nodes = new Map<string, Uint8Array>();
  const bodies = new Map<number, string>();
  if (reads.nodes.length > 0 || reads.seqs.length > 0) {
    const { rows } = await run<FetchRow>(FETCH, [reads.nodes.map((n) => n.level), reads.nodes.map((n) => n.index), reads.seqs]);
    for (const r of rows) {
      if (r.hash !== null) nodes.set(`${r.level}:${r.idx}`, new Uint8Array(r.hash.buffer, r.hash.byteOffset, r.hash.byteLength));
      else if (r.seq !== null && r.body !== null) bodies.set(r.seq, r.body);
    }
  }
  return compute(sparseSource((level, index) => nodes.get(`${level}:${index}`), () => bodies));
}

export function createTree(): PgTree {
  let frontier: Frontier | undefined;
  let frontierHead = '';

  return {
    async nodes(run, prev, events) {
      if (!frontier || frontier.size !== prev.seq || frontierHead !== prev.hash) {
        frontier = undefined;
        frontier = storedFrontier(prev) ?? (await withNodes(run, (source) => Frontier.from({ size: prev.seq, source })));
        frontierHead = prev.hash;
      }
      const levels: number[] = [];
      const indexes: number[] = [];
      const hashes: Buffer[] = [];
      for (const e of events) {
        for (const n of frontier.append(leafHash(e.body)).newNodes) {
          if (!isStored(n.level)) continue;
          levels.push(n.level);
          indexes.push(n.index);
          hashes.push(Buffer.from(n.hash));
        }
      }
      if (events.length > 0) frontierHead = events[events.length - 1]!.hash;
      return { levels, indexes, hashes, edge: Buffer.concat(frontier.nodes().map((n) => n.hash)) };
    },
    at: (head) => frontier !== undefined && frontier.size === head.seq && frontierHead === head.hash,
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
